"""Server and client exceptions are built from the one problem table (netprov/problems.py)."""

import httpx

import api.problems as server
import netprov_client as client
from netprov.problems import PROBLEMS


def test_every_row_is_a_server_problem_and_a_client_exception_with_its_family():
    for row in PROBLEMS:
        raised = getattr(server, row.code)("detail")
        assert (raised.code, raised.status, raised.title) == (row.code, row.status, row.title)
        assert raised.body()["code"] == row.code and raised.body()["status"] == row.status
        caught = getattr(client, row.code)
        assert issubclass(caught, client.ProblemError)
        if row.family:
            assert issubclass(getattr(server, row.code), getattr(server, row.family))
            assert issubclass(caught, getattr(client, row.family))


def test_retry_after_comes_from_the_row_unless_the_raiser_names_one():
    assert server.ServiceUnavailable("down").headers == {"Retry-After": "5"}
    assert server.ServiceUnavailable("down", retry_after=9).headers == {"Retry-After": "9"}
    assert server.NetworkNotFound("gone").headers == {}


def test_the_client_reads_each_row_back_and_falls_back_on_the_status():
    for row in PROBLEMS:
        body = server.problem_response(getattr(server, row.code)("why")).body
        response = httpx.Response(row.status, content=body, headers={"Content-Type": "application/problem+json"})
        problem = client.problem_from(response)
        assert (type(problem).__name__, problem.status, problem.title, problem.detail) == (row.code, row.status, row.title, "why")
    unknown = httpx.Response(409, json={"code": "SomethingNew", "status": 409, "title": "New", "detail": "d"})
    assert isinstance(client.problem_from(unknown), client.Conflict)
    proxy_page = httpx.Response(502, text="<html>bad gateway</html>")
    assert type(client.problem_from(proxy_page)) is client.ProblemError
