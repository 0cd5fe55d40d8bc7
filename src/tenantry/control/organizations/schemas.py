from typing import Any

from pydantic import BaseModel, Field

from tenantry.control.accounts.schemas import Metadata, ServiceKeyRead
from tenantry.kernel.enums import Role
from tenantry.kernel.schemas import Strict


class IndividualAccountItem(BaseModel):
    id: str
    first_name: str
    last_name: str
    email: str
    role: Role
    verified: bool
    metadata: dict[str, Any]


class ServiceAccountItem(BaseModel):
    id: str
    name: str
    role: Role
    metadata: dict[str, Any]
    keys: list[ServiceKeyRead]


class OrganizationAccounts(BaseModel):
    individual_accounts: list[IndividualAccountItem]
    service_accounts: list[ServiceAccountItem]


class OrganizationRead(BaseModel):
    id: str
    name: str
    metadata: dict[str, Any]


class OrganizationUpdate(Strict):
    metadata: Metadata
    preserve: bool = Field(
        default=False, description="Append to lists in metadata instead of replacing them."
    )


class OrganizationPreview(BaseModel):
    metadata_old: dict[str, Any]
    metadata_new: dict[str, Any]
