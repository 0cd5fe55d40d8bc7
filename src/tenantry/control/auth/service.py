"""Registration, logins, refresh-token rotation, logout.

Unlike other services, these run their own short transactions, for two reasons. A
password is hashed or checked while no connection is held: about 100 ms of CPU, queued
behind other logins in a burst, and a held connection would starve the pool. And what must
outlive a refusal (the attempt counted against the throttle, a reused refresh token's
family revoked) commits before the refusal is raised, on the request's only connection.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tenantry import audit
from tenantry.audit import Actor
from tenantry.auth import api_keys
from tenantry.auth.context import DatabaseRef
from tenantry.auth.errors import InvalidCredentials, LoginThrottled, RefreshTokenExpired
from tenantry.auth.passwords import hash_password, verify_password
from tenantry.auth.tokens import (
    ExpiredToken,
    FrontendId,
    InvalidToken,
    Issued,
    TokenService,
    TokenType,
)
from tenantry.config import Settings
from tenantry.control.auth import repository, service_keys
from tenantry.control.auth.schemas import LoginResponse
from tenantry.control.databases import service as databases
from tenantry.control.databases.schemas import summary
from tenantry.db.sessions import ControlSession, detached_session
from tenantry.errors import Conflict, NotFound
from tenantry.ids import new_id
from tenantry.kernel.enums import Role
from tenantry.models.control import (
    Account,
    AccountKind,
    ApiKey,
    Database,
    Organization,
    RefreshToken,
)


class EmailTaken(Conflict):
    status = 400
    code = "EMAIL_TAKEN"
    default_detail = "An account with this email exists."


class DatabaseNotFound(NotFound):
    code = "DATABASE_NOT_FOUND"
    default_detail = "No database of your organization has this id or name."


@dataclass(frozen=True)
class Frontend:
    """What a login names besides its account and database (kept with its refresh
    tokens): the app's user and anonymous session, the service account's key."""

    user_id: FrontendId | None = None
    session_id: FrontendId | None = None
    service_key_id: str | None = None

    @property
    def named(self) -> bool:
        """Whether the login named the app's user or session."""
        return self.user_id is not None or self.session_id is not None


NO_FRONTEND = Frontend()

FrontendLogin = Callable[[DatabaseRef, FrontendId | None, FrontendId | None], Awaitable[None]]
"""What a login naming frontend ids does in its database, which is the data plane's
(`tenantry.data.interactions.logins.at_login`, handed over by the application): checks them
against the database's id types and, with both, resolves the session to the user."""


@dataclass(frozen=True)
class Registered:
    login: LoginResponse
    account_id: str
    api_key: str


class AuthService:
    def __init__(
        self,
        tokens: TokenService,
        settings: Settings,
        engine: AsyncEngine,
        frontend_login: FrontendLogin,
        channel: str = "api",  # the door the audit trail names for logins: "api", "admin"
    ) -> None:
        self.tokens = tokens
        self.settings = settings
        self.engine = engine
        self.frontend_login = frontend_login
        self.channel = channel

    async def register(
        self, *, email: str, password: str, organization_name: str | None, address: str
    ) -> Registered:
        password_hash = await hash_password(password, client=address)
        async with detached_session(self.engine) as session:
            if self.settings.audit:  # the new organization, account, database and key
                audit.watch(session, Actor(channel="api", address=address))
            return await self._register(session, email, password_hash, organization_name)

    async def _register(
        self,
        session: ControlSession,
        email: str,
        password_hash: str,
        organization_name: str | None,
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
            password_hash=password_hash,
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
        *,
        email: str,
        password: str,
        address: str,
        db_id: str | None,
        db_name: str | None,
        frontend: Frontend = NO_FRONTEND,
    ) -> LoginResponse:
        return await self._login_with_password(
            repository.RESERVE_AND_FIND_BY_EMAIL,
            email,
            f"account:{email}",
            password,
            address,
            db_id,
            db_name,
            frontend,
        )

    async def login_service(
        self,
        *,
        name: str,
        password: str,
        address: str,
        db_id: str | None,
        db_name: str | None,
        frontend: Frontend = NO_FRONTEND,
    ) -> LoginResponse:
        """With the account's password, or one of its keys (`tsk_…`)."""
        return await self._login_with_password(
            repository.RESERVE_AND_FIND_BY_SERVICE_NAME,
            name,
            f"account:service:{name}",
            password,
            address,
            db_id,
            db_name,
            frontend,
            keys=True,
        )

    async def refresh(
        self, *, refresh_token: str, db_id: str | None, db_name: str | None
    ) -> LoginResponse:
        try:
            claims = self.tokens.decode(refresh_token, "refresh")
        except ExpiredToken as error:
            raise RefreshTokenExpired from error
        except InvalidToken as error:
            raise InvalidCredentials("The refresh token is not valid.") from error
        now = self.tokens.clock()
        async with detached_session(self.engine) as session:
            await repository.lock_family(session, claims.family_id)
            used = await repository.claim_refresh_token(
                session, claims.jti, api_keys.hash_key(refresh_token), now
            )
            if used is None:
                # Reuse of a rotated token: whoever holds the family now may be a thief.
                await repository.revoke_family(session, claims.family_id, now)
            else:
                login = await self._relogin(session, used, db_id, db_name)
        if used is None:
            raise InvalidCredentials("The refresh token was already used; log in again.")
        return login

    async def _relogin(
        self, session: ControlSession, used: RefreshToken, db_id: str | None, db_name: str | None
    ) -> LoginResponse:
        account = await session.get(Account, used.account_id)
        if account is None:
            raise InvalidCredentials("The account no longer exists.")
        database = await self._database(session, account, db_id, db_name, used.database_id)
        frontend = Frontend(used.frontend_user_id, used.frontend_session_id, used.service_key_id)
        return await self._login(
            session, account, database, family_id=used.family_id, frontend=frontend
        )

    async def logout(self, session: ControlSession, *, family_id: str) -> None:
        """End a login: its refresh tokens, and every access token issued with them."""
        await repository.revoke_family(session, family_id, self.tokens.clock())

    async def _login_with_password(
        self,
        finder: str,
        who: str,
        account_key: str,
        password: str,
        address: str,
        db_id: str | None,
        db_name: str | None,
        frontend: Frontend,
        *,
        keys: bool = False,
    ) -> LoginResponse:
        """The attempt is counted before the password is checked, so parallel guesses can
        never check more than the throttle allows; a success takes it back. An unknown
        account costs the same check as a known one. With `keys`, a service account's key
        is accepted as its password; one that is not a live key is checked as a password."""
        address_key = f"address:{address}"
        attempt = await repository.reserve_attempt(
            self.engine,
            finder,
            {
                account_key: self.settings.login_failures_per_account,
                address_key: self.settings.login_failures_per_address,
            },
            now=self.tokens.clock(),
            window=self.settings.login_window,
            who=who,
        )
        if attempt.blocked_until is not None:
            seconds = int((attempt.blocked_until - self.tokens.clock()).total_seconds()) + 1
            raise LoginThrottled(headers={"Retry-After": str(max(seconds, 1))})
        key_id = None
        if keys and attempt.account_id is not None and service_keys.looks_like_key(password):
            async with detached_session(self.engine) as session:
                key_id = await repository.live_service_key(
                    session,
                    attempt.account_id,
                    service_keys.hash_secret(password),
                    self.tokens.clock(),
                )
        if key_id is None and not await verify_password(
            attempt.password_hash, password, client=address
        ):
            await self._refused(attempt.account_id, address)
            raise InvalidCredentials("Wrong email, name or password.")
        frontend = Frontend(frontend.user_id, frontend.session_id, key_id)
        keys_used = (account_key, address_key)
        return await self._checked_login(
            attempt.account_id, keys_used, address, db_id, db_name, frontend
        )

    async def _checked_login(
        self,
        account_id: str | None,
        keys_used: tuple[str, str],
        address: str,
        db_id: str | None,
        db_name: str | None,
        frontend: Frontend,
    ) -> LoginResponse:
        """The login of an account whose password checked out: the throttle's counts
        (`keys_used`: the account's, the address's) taken back, the database's part of the
        frontend ids done, the tokens. That part is the data plane's, on the database's
        lane: it runs between two control transactions, never while one is held."""
        account_key, address_key = keys_used
        async with detached_session(self.engine) as session:
            account = await session.get(Account, account_id)
            if account is None:
                raise InvalidCredentials("Wrong email, name or password.")
            await repository.clear_throttle(session, account_key)
            await repository.forgive_attempt(session, address_key)
            database = await self._database(session, account, db_id, db_name, None)
            if database is None or not frontend.named:
                login = await self._login(session, account, database, frontend=frontend)
                await self._audit_login(session, "login", account, address, database)
                return login
            target = await repository.database_ref(session, database)
        await self.frontend_login(target, frontend.user_id, frontend.session_id)
        async with detached_session(self.engine) as session:
            login = await self._login(session, account, database, frontend=frontend)
            await self._audit_login(session, "login", account, address, database)
            return login

    async def _audit_login(
        self,
        session: ControlSession,
        action: str,
        account: Account | None,
        address: str,
        database: Database | None = None,
    ) -> None:
        """A login or a refused one, in the audit trail: the account (when it exists),
        never what was sent."""
        if not self.settings.audit:
            return
        org_id = account.org_id if account else None
        account_id = account.id if account else None
        await audit.record(
            session,
            action,
            actor=Actor(self.channel, org_id=org_id, account_id=account_id, address=address),
            target_type="account" if account else None,
            target_id=account_id,
            database_id=database.id if database else None,
        )

    async def _refused(self, account_id: str | None, address: str) -> None:
        """A wrong password, in the audit trail (its own transaction: the refusal follows)."""
        if not self.settings.audit:
            return
        async with detached_session(self.engine) as session:
            account = await session.get(Account, account_id) if account_id else None
            await self._audit_login(session, "login.failed", account, address)

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
        frontend: Frontend = NO_FRONTEND,
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
                frontend_user_id=frontend.user_id,
                frontend_session_id=frontend.session_id,
            )

        access, refresh = issue("access"), issue("refresh")
        session.add(self._stored(refresh, frontend))
        return LoginResponse(
            token=access.token,
            refresh_token=refresh.token,
            role=Role(account.role),
            org_id=account.org_id,
            database=summary(database),
        )

    @staticmethod
    def _stored(refresh: Issued, frontend: Frontend) -> RefreshToken:
        claims = refresh.claims
        return RefreshToken(
            frontend_user_id=frontend.user_id,
            frontend_session_id=frontend.session_id,
            service_key_id=frontend.service_key_id,
            id=claims.jti,
            family_id=claims.family_id,
            account_id=claims.account_id,
            database_id=claims.database_id,
            token_hash=api_keys.hash_key(refresh.token),
            issued_at=claims.issued_at,
            expires_at=claims.expires_at,
        )
