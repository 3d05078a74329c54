"""Tokens: a public id and a secret; only the secret's SHA-256 is stored, so a copy of the
database yields no usable token (secrets are 256-bit random, so no slow hash is needed)."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.problems import Forbidden, Unauthorized
from store.tables import TokenRow

BOOTSTRAP_ADMIN_ID = "admin"


@dataclass(frozen=True)
class Caller:
    token_id: str
    tenant_id: str | None
    admin: bool

    def require_tenant(self, tenant_id: str) -> None:
        if not self.admin and self.tenant_id != tenant_id:
            raise Forbidden("This token belongs to another tenant.")

    def require_admin(self) -> None:
        if not self.admin:
            raise Forbidden("Only an admin token may do this.")


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(session: Session, *, tenant_id: str | None, admin: bool) -> tuple[TokenRow, str]:
    secret = secrets.token_urlsafe(32)
    row = TokenRow(id=str(uuid.uuid4()), secret_hash=hash_secret(secret), tenant_id=tenant_id, admin=admin)
    session.add(row)
    return row, secret


# Every request runs it: built once, and read as plain columns (no ORM object to load).
_BY_SECRET = select(TokenRow.id, TokenRow.tenant_id, TokenRow.admin).where(TokenRow.secret_hash == bindparam("secret_hash"))


def authenticate(session: Session, secret: str | None) -> Caller:
    if not secret:
        raise Unauthorized("Send a token in the X-Auth-Token header.")
    row = session.execute(_BY_SECRET, {"secret_hash": hash_secret(secret)}).one_or_none()
    if row is None:
        raise Unauthorized("The token is unknown or revoked.")
    return Caller(token_id=row.id, tenant_id=row.tenant_id, admin=row.admin)


def install_admin_token(engine: Engine, secret: str) -> None:
    """Make the configured admin secret valid (the dev stack's NETPROV_ADMIN_TOKEN)."""
    digest = hash_secret(secret)
    for _ in range(3):
        with Session(engine) as session:
            row = session.get(TokenRow, BOOTSTRAP_ADMIN_ID)
            if row is None:
                session.add(TokenRow(id=BOOTSTRAP_ADMIN_ID, secret_hash=digest, tenant_id=None, admin=True))
            elif row.secret_hash != digest:
                row.secret_hash = digest
                session.add(row)
            try:
                session.commit()
                return
            except IntegrityError:
                # Another API replica starting at the same moment inserted it first: look again.
                session.rollback()
    raise RuntimeError("could not install the admin token")
