"""SQL of scenarios and default scenarios, in the caller's schema."""

from typing import Any

from sqlalchemy import ClauseElement, Executable, Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from tenantry.db.sessions import TenantSession
from tenantry.models.data import DefaultScenario, Scenario


class _LockTable(Executable, ClauseElement):
    """`LOCK TABLE` of a data-plane table, in the schema the session is bound to."""

    inherit_cache = False

    def __init__(self, table: Table) -> None:
        self.table = table


@compiles(_LockTable)
def _lock_table(element: _LockTable, compiler: SQLCompiler, **_: Any) -> str:
    table = compiler.preparer.format_table(element.table)
    return f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"


async def lock(session: TenantSession) -> None:
    """Make the writers of scenarios take turns until the transaction ends, so that no two
    of them each add half of a cycle, or a reference to a scenario the other deletes."""
    await session.execute(_LockTable(Scenario.__table__))  # type: ignore[arg-type]


async def of_type(session: TenantSession, reco_type: str) -> tuple[dict[str, Any], str | None]:
    """The scenarios of a kind of recommendation by name, and the name of its default (or
    None), in one statement."""
    default = (
        select(DefaultScenario.name).where(DefaultScenario.reco_type == reco_type).scalar_subquery()
    )
    query = select(Scenario.name, Scenario.scenario, Scenario.name == default).where(
        Scenario.reco_type == reco_type
    )
    rows = (await session.execute(query)).all()
    chosen = next((name for name, _, is_default in rows if is_default), None)
    return {name: scenario for name, scenario, _ in rows}, chosen


async def every(session: TenantSession) -> list[tuple[str, str, Any]]:
    """Every scenario: (reco_type, name, scenario), by kind then name."""
    query = select(Scenario.reco_type, Scenario.name, Scenario.scenario).order_by(
        Scenario.reco_type, Scenario.name
    )
    return [(row[0], row[1], row[2]) for row in await session.execute(query)]


async def put(session: TenantSession, reco_type: str, name: str, scenario: Any) -> None:
    """Create the scenario, or replace it."""
    statement = insert(Scenario).values(reco_type=reco_type, name=name, scenario=scenario)
    statement = statement.on_conflict_do_update(
        index_elements=[Scenario.reco_type, Scenario.name],
        set_={"scenario": statement.excluded.scenario, "updated_at": func.now()},
    )
    await session.execute(statement)


async def remove(session: TenantSession, reco_type: str, name: str) -> None:
    await session.execute(
        delete(Scenario).where(Scenario.reco_type == reco_type, Scenario.name == name)
    )


async def set_default(session: TenantSession, reco_type: str, name: str) -> None:
    statement = insert(DefaultScenario).values(reco_type=reco_type, name=name)
    statement = statement.on_conflict_do_update(
        index_elements=[DefaultScenario.reco_type], set_={"name": statement.excluded.name}
    )
    await session.execute(statement)


async def unset_default(session: TenantSession, reco_type: str) -> bool:
    """Forget the default of a kind; whether there was one."""
    statement = (
        delete(DefaultScenario)
        .where(DefaultScenario.reco_type == reco_type)
        .returning(DefaultScenario.name)
    )
    return (await session.scalar(statement)) is not None


async def default_of(session: TenantSession, reco_type: str) -> str | None:
    query = select(DefaultScenario.name).where(DefaultScenario.reco_type == reco_type)
    return await session.scalar(query)


async def count_of_user(session: TenantSession, table: Table, user: bytes) -> int:
    """How many rows of `table` (ratings or interactions) the user has."""
    owner = table.c.user_id
    return int(await session.scalar(select(func.count()).where(owner == user)) or 0)
