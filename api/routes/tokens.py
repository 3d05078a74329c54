"""/v1.1/tokens: issued and revoked by an admin; a token may also revoke itself."""

from fastapi import APIRouter, Depends, Response
from sqlalchemy import delete

from api.auth import issue_token
from api.deps import CallerDep, SessionDep, allow_query, get_caller
from api.problems import ERROR_RESPONSES, BadRequest, TokenNotFound
from netprov.resources import TokenBody, TokenCreateRequest, TokenResponse
from store.tables import TokenRow

# The token is checked before anything else about the request (query, body, ids).
router = APIRouter(
    prefix="/v1.1/tokens", tags=["tokens"], responses=ERROR_RESPONSES, dependencies=[Depends(get_caller)]
)


@router.post("", status_code=201, response_model=TokenResponse, dependencies=[allow_query()])
def create_token(body: TokenCreateRequest, caller: CallerDep, session: SessionDep):
    caller.require_admin()
    spec = body.token
    if spec.admin == (spec.tenant_id is not None):
        raise BadRequest('Give either "tenant_id" (a tenant token) or "admin": true (an admin token).')
    row, secret = issue_token(session, tenant_id=spec.tenant_id, admin=spec.admin)
    session.commit()
    return {"token": TokenBody(id=row.id, secret=secret, tenant_id=row.tenant_id, admin=row.admin)}


@router.delete("/{token_id}", status_code=204, response_class=Response, dependencies=[allow_query()])
def revoke_token(token_id: str, caller: CallerDep, session: SessionDep):
    # A tenant token learns nothing about other tokens: they are all "not found" to it.
    if not caller.admin and caller.token_id != token_id:
        raise TokenNotFound(f"Token {token_id[:80]} not found.")
    removed = session.execute(delete(TokenRow).where(TokenRow.id == token_id)).rowcount
    session.commit()
    if not removed:
        raise TokenNotFound(f"Token {token_id[:80]} not found.")
    return Response(status_code=204)
