"""Scenarios, at the Crossing Minds client's paths: `/v1/scenarios/{reco_type}/{name}/`,
`/v1/scenarios/` and `/v1/scenarios-default/{reco_type}/`."""

from typing import Annotated

from fastapi import Path

from tenantry.data.access import DataReader, DataWriter
from tenantry.data.catalog.ids import Ids
from tenantry.data.recommendations.scenarios import service
from tenantry.data.recommendations.scenarios.schemas import (
    SCENARIO_NAME,
    DefaultRead,
    DefaultWrite,
    RecoType,
    ScenarioRead,
    ScenariosRead,
    ScenarioWrite,
    Written,
)
from tenantry.kernel.versions import V1
from tenantry.routing import Router

router = Router(prefix=V1, tags=["scenarios"])

Kind = Annotated[RecoType, Path(description="The kind of recommendation the scenario is for.")]
Name = Annotated[str, Path(pattern=SCENARIO_NAME, description="The scenario's name.")]


@router.put("/scenarios/{reco_type}/{name}/")
async def put_scenario(
    reco_type: Kind, name: Name, body: ScenarioWrite, session: DataWriter, _ids: Ids
) -> Written:
    """Create a scenario, or replace it."""
    return Written(warnings=await service.put(session, reco_type, name, body))


@router.get("/scenarios/{reco_type}/{name}/")
async def get_scenario(reco_type: Kind, name: Name, session: DataReader, _ids: Ids) -> ScenarioRead:
    """One scenario."""
    return await service.get(session, reco_type, name)


@router.delete("/scenarios/{reco_type}/{name}/", status_code=204)
async def delete_scenario(reco_type: Kind, name: Name, session: DataWriter, _ids: Ids) -> None:
    """Delete a scenario that no other names and that is not its kind's default."""
    await service.delete(session, reco_type, name)


@router.get("/scenarios/")
async def list_scenarios(session: DataReader, _ids: Ids) -> ScenariosRead:
    """Every scenario, by kind of recommendation then name."""
    return ScenariosRead(scenarios=await service.list_all(session))


@router.patch("/scenarios-default/{reco_type}/", status_code=204)
async def set_default_scenario(
    reco_type: Kind, body: DefaultWrite, session: DataWriter, _ids: Ids
) -> None:
    """Apply this scenario to the kind's requests that name none."""
    await service.set_default(session, reco_type, body.name)


@router.get("/scenarios-default/{reco_type}/")
async def get_default_scenario(reco_type: Kind, session: DataReader, _ids: Ids) -> DefaultRead:
    """The name of the kind's default scenario."""
    return DefaultRead(name=await service.default_of(session, reco_type))


@router.delete("/scenarios-default/{reco_type}/", status_code=204)
async def unset_default_scenario(reco_type: Kind, session: DataWriter, _ids: Ids) -> None:
    """Apply no scenario to the kind's requests that name none."""
    await service.unset_default(session, reco_type)
