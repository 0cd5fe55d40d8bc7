"""Registration, logins, refresh-token rotation, logout. Services never commit."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry.auth import api_keys
from tenantry.auth.errors import InvalidCredentials, LoginThrottled, RefreshTokenExpired
from tenantry.auth.passwords import hash_password, verify_password
from tenantry.auth.tokens import ExpiredToken, InvalidToken, Issued, TokenService, TokenType
from tenantry.config import Settings
from tenantry.control.auth import repository
from tenantry.control.auth.schemas import DatabaseSummary, LoginResponse
from tenantry.control.databases import service as databases
from tenantry.control.models import (
    Account,
    AccountKind,
    ApiKey,
    Database,
    Organization,
    RefreshToken,
    Role,
)
from tenantry.db.sessions import ControlSession, detached_session
from tenantry.errors import Conflict, NotFound
from tenantry.ids import new_id


class EmailTaken(Conflict):
    status = 400
    code = "EMAIL_TAKEN"
    default_detail = "An account with this email exists."


class DatabaseNotFound(NotFound):
    code = "DATABASE_NOT_FOUND"
    default_detail = "No database of your organization has this id or name."


@dataclass(frozen=True)
class Registered:
    login: LoginResponse
    account_id: str
    api_key: str


def summary(database: Database | None) -> DatabaseSummary | None:
    if database is None:
        return None
    return DatabaseSummary.model_validate(database, from_attributes=True)


class AuthService:
    def __init__(self, tokens: TokenService, settings: Settings, engine: AsyncEngine) -> None:
        self.tokens = tokens
        self.settings = settings
        self.engine = engine

    async def register(
        self, session: ControlSession, *, email: str, password: str, organization_name: str | None
    ) -> Registered:
        if await repository.account_by_email(session, email) is not None:
            raise EmailTaken
        organization = Organization(id=new_id(), name=organization_name or email)
        account = Account(
            id=new_id(),
            org_id=organization.id,
            kind=AccountKind.INDIVIDUAL,
            role=Role.ROOT,
            email=email,
            password_hash=hash_password(password),
        )
        key = api_keys.generate()
        try:
            async with session.begin_nested():
                for row in (organization, account):  # parents first
                    session.add(row)
                    await session.flush()
        except IntegrityError as error:
            raise EmailTaken from error
        local_part = email.split("@", 1)[0]
        database = await databases.create(
            session, org_id=organization.id, name=local_part, schema_base=local_part
        )
        api_key = ApiKey(
            id=new_id(),
            org_id=organization.id,
            database_id=database.id,
            account_id=account.id,
            name="default",
            role=Role.BACKEND,
            prefix=key.prefix,
            secret_hash=key.secret_hash,
        )
        session.add(api_key)
        await session.flush()
        login = await self._login(session, account, database)
        return Registered(login=login, account_id=account.id, api_key=key.key)

    async def login_individual(
        self,
        session: ControlSession,
        *,
        email: str,
        password: str,
        address: str,
        db_id: str | None,
        db_name: str | None,
    ) -> LoginResponse:
        await self._check_throttle(session, email, address)
        account = await repository.account_by_email(session, email)
        return await self._login_checked(session, account, password, email, address, db_id, db_name)

    async def login_service(
        self,
        session: ControlSession,
        *,
        name: str,
        password: str,
        address: str,
        db_id: str | None,
        db_name: str | None,
    ) -> LoginResponse:
        await self._check_throttle(session, f"service:{name}", address)
        account = await repository.account_by_service_name(session, name)
        return await self._login_checked(
            session, account, password, f"service:{name}", address, db_id, db_name
        )

    async def refresh(
        self,
        session: ControlSession,
        *,
        refresh_token: str,
        db_id: str | None,
        db_name: str | None,
    ) -> LoginResponse:
        try:
            claims = self.tokens.decode(refresh_token, "refresh")
        except ExpiredToken as error:
            raise RefreshTokenExpired from error
        except InvalidToken as error:
            raise InvalidCredentials("The refresh token is not valid.") from error
        now = self.tokens.clock()
        used = await repository.claim_refresh_token(
            session, claims.jti, api_keys.hash_key(refresh_token), now
        )
        if used is None:
            # Reuse of a rotated token: whoever holds the family now may be a thief.
            async with detached_session(self.engine) as detached:
                await repository.revoke_family(detached, claims.family_id, now)
            raise InvalidCredentials("The refresh token was already used; log in again.")
        account = await session.get(Account, used.account_id)
        if account is None:
            raise InvalidCredentials("The account no longer exists.")
        database = await self._database(session, account, db_id, db_name, used.database_id)
        return await self._login(session, account, database, family_id=used.family_id)

    async def logout(self, session: ControlSession, *, family_id: str) -> None:
        await repository.revoke_family(session, family_id, self.tokens.clock())

    async def _login_checked(
        self,
        session: ControlSession,
        account: Account | None,
        password: str,
        who: str,
        address: str,
        db_id: str | None,
        db_name: str | None,
    ) -> LoginResponse:
        if account is None or not verify_password(account.password_hash, password):
            await self._count_failure(who, address)
            raise InvalidCredentials("Wrong email, name or password.")
        await repository.clear_throttle(session, f"account:{who}")
        database = await self._database(session, account, db_id, db_name, None)
        return await self._login(session, account, database)

    async def _database(
        self,
        session: ControlSession,
        account: Account,
        db_id: str | None,
        db_name: str | None,
        default_id: str | None,
    ) -> Database | None:
        if db_id is None and db_name is None:
            return await session.get(Database, default_id) if default_id else None
        database = await repository.database_of_org(
            session, account.org_id, db_id=db_id, db_name=db_name
        )
        if database is None:
            raise DatabaseNotFound
        return database

    async def _login(
        self,
        session: ControlSession,
        account: Account,
        database: Database | None,
        *,
        family_id: str | None = None,
    ) -> LoginResponse:
        family_id = family_id or new_id()
        database_id = database.id if database else None

        def issue(kind: TokenType) -> Issued:
            return self.tokens.issue(
                kind,
                account_id=account.id,
                org_id=account.org_id,
                role=account.role,
                database_id=database_id,
                family_id=family_id,
            )

        access, refresh = issue("access"), issue("refresh")
        session.add(self._stored(refresh))
        return LoginResponse(
            token=access.token,
            refresh_token=refresh.token,
            role=Role(account.role),
            org_id=account.org_id,
            database=summary(database),
        )

    @staticmethod
    def _stored(refresh: Issued) -> RefreshToken:
        claims = refresh.claims
        return RefreshToken(
            id=claims.jti,
            family_id=claims.family_id,
            account_id=claims.account_id,
            database_id=claims.database_id,
            token_hash=api_keys.hash_key(refresh.token),
            issued_at=claims.issued_at,
            expires_at=claims.expires_at,
        )

    async def _check_throttle(self, session: ControlSession, who: str, address: str) -> None:
        keys = [f"account:{who}", f"address:{address}"]
        blocked_until = await repository.throttle_blocked_until(session, keys)
        now = self.tokens.clock()
        if blocked_until is not None and blocked_until > now:
            seconds = int((blocked_until - now).total_seconds()) + 1
            raise LoginThrottled(headers={"Retry-After": str(seconds)})

    async def _count_failure(self, who: str, address: str) -> None:
        now: datetime = self.tokens.clock()
        window = self.settings.login_window
        limits = {
            f"account:{who}": self.settings.login_failures_per_account,
            f"address:{address}": self.settings.login_failures_per_address,
        }
        async with detached_session(self.engine) as session:
            for key, limit in limits.items():
                await repository.count_failure(
                    session,
                    key,
                    now=now,
                    window_start=now - window,
                    limit=limit,
                    block_until=now + window,
                )
