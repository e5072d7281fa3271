"""The shape of the web pages: a router per page group, the user settled first (by dependency), no SQL in the
page modules, and pages that only read never write the store. Real app, SpatiaLite and PostGIS."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PAGES = Path(__file__).parents[1] / "api" / "web" / "pages"

# Every page URL, by the module that serves it: the URLs the templates, the tests and the planners' bookmarks use.
EXPECTED = {
    "signin": {("GET", "/web/login"), ("POST", "/web/login"), ("POST", "/web/logout")},
    "dashboard": {("GET", "/web/")},
    "imports": {("GET", "/web/import"), ("POST", "/web/import"), ("POST", "/web/import/confirm")},
    "runs": {("GET", "/web/evaluate"), ("POST", "/web/evaluate"), ("GET", "/web/runs"),
             ("GET", "/web/runs/{run_id}/tiled-map"), ("GET", "/web/runs/{run_id}/tiles/{collection_id}/{z}/{x}/{y}"),
             ("GET", "/web/runs/{run_id}/status.json"), ("GET", "/web/runs/{run_id}"),
             ("GET", "/web/runs/{run_id}/map"), ("GET", "/web/runs/{run_id}/download/{fmt}"),
             ("GET", "/web/runs/{run_id}/print"), ("GET", "/web/runs/{run_id}/notices.zip"),
             ("GET", "/web/runs/{run_id}/warnings.xlsx")},
    "parcels": {("GET", "/web/runs/{run_id}/parcels/{parcel_id}"),
                ("GET", "/web/runs/{run_id}/parcels/{parcel_id}/download/txt"),
                ("GET", "/web/runs/{run_id}/parcels/{parcel_id}/verdicts.json")},
    "mujun": {("GET", "/web/mujun"), ("GET", "/web/runs/{run_id}/mujun"), ("GET", "/web/mujun/year"),
              ("GET", "/web/runs/{run_id}/lists.xlsx")},
    "check": {("GET", "/web/check"), ("POST", "/web/check"), ("GET", "/web/check/context.geojson")},
    "rulesets": {("GET", "/web/rulesets"), ("POST", "/web/rulesets"), ("GET", "/web/rulesets/diff"),
                 ("GET", "/web/rulesets/{ref}")},
    "compare": {("POST", "/web/rulesets/preview"), ("GET", "/web/compare"), ("GET", "/web/compare/download/{fmt}")},
    "trend": {("GET", "/web/trend"), ("GET", "/web/trend/download.xlsx")},
    "zones": {("GET", "/web/zones"), ("POST", "/web/zones/propose"), ("GET", "/web/zones/{dataset_id}/map"),
              ("GET", "/web/zones/{dataset_id}/download")},
}


def _routes(router) -> set[tuple[str, str]]:
    return {(method, route.path) for route in router.routes for method in route.methods}


def test_each_page_group_has_its_own_router_with_its_urls():
    import importlib

    from api.web.pages import ROUTERS

    for name, urls in EXPECTED.items():
        assert _routes(importlib.import_module(f"api.web.pages.{name}").router) == urls, name
    # ROUTERS is exactly these routers: 42 URLs, none served twice
    assert sum(len(_routes(r)) for r in ROUTERS) == sum(len(u) for u in EXPECTED.values()) == 42
    assert set().union(*(_routes(r) for r in ROUTERS)) == set().union(*EXPECTED.values())
    # /rulesets/diff is matched before /rulesets/{ref} would take "diff" for a rule set reference
    from api.web.pages import rulesets

    paths = [route.path for route in rulesets.router.routes]
    assert paths.index("/web/rulesets/diff") < paths.index("/web/rulesets/{ref}")


def test_the_app_serves_every_page_url_and_keeps_them_out_of_the_openapi_document(client):
    from api.web.pages import ROUTERS

    routes = [route for router in ROUTERS for route in router.routes]
    # one name per page, none a JSON route's: url_path_for finds the page (run_map was both the page and the API's)
    assert len({route.name for route in routes}) == len(routes) == 42
    for route in routes:
        params = {name: "x1" for name in route.param_convertors}
        assert client.app.url_path_for(route.name, **params) == route.path.format(**params)
    assert not [p for p in client.app.openapi()["paths"] if p.startswith("/web")]


@pytest.mark.parametrize("module", sorted(p.stem for p in PAGES.glob("*.py")))
def test_no_sql_in_page_modules(module):
    """Pages call the services and the store's functions; they open no connection and build no query."""
    tree = ast.parse((PAGES / f"{module}.py").read_text(encoding="utf-8"))
    imports = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not [i for i in imports if i and i.split(".")[0] == "sqlalchemy"]
    assert "api.store.models" not in imports
    calls = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
             for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not calls & {"connect", "begin", "select", "execute", "scalar"}


# --- over HTTP ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cookies(client, tokens) -> dict[str, dict[str, str]]:
    """A session cookie header per role, signed in through the form."""
    out = {}
    for role, token in tokens.items():
        r = client.post("/web/login", data={"token": token}, follow_redirects=False)
        assert r.status_code == 303, r.text
        out[role] = {"Cookie": f"mujun_session={r.cookies['mujun_session']}"}
        client.cookies.clear()
    return out


def test_who_is_asking_is_settled_before_the_form_is_read(client, cookies):
    # No session: the sign-in form, even though the form lacks its required dataset (FastAPI would say 422).
    r = client.post("/web/evaluate", data={}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/web/login?next=%2Fweb%2Fevaluate"
    # A viewer may not evaluate: the Chinese 403 page, not a validation error about the missing field.
    r = client.post("/web/evaluate", data={}, headers=cookies["viewer"])
    assert r.status_code == 403 and "text/html" in r.headers["content-type"] and "无权" in r.text
    # An analyst gets as far as the form: then the missing field is the problem (the app's 400 for bad input).
    r = client.post("/web/evaluate", data={}, headers=cookies["analyst"])
    assert r.status_code == 400 and "dataset" in r.text


def test_a_run_that_does_not_exist_is_said_only_to_a_reader(client, cookies):
    for path in ("/web/runs/987654", "/web/runs/987654/print", "/web/runs/987654/mujun",
                 "/web/runs/987654/parcels/P1", "/web/runs/987654/status.json", "/web/runs/987654/lists.xlsx"):
        anonymous = client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/web/login?next=")
        r = client.get(path, headers=cookies["viewer"])
        assert r.status_code == 404 and "评估 987654 不存在" in r.text, path


def test_reading_rule_set_pages_writes_nothing(client, cookies, store):
    """Looking at rule sets stores nothing (the old pages stored each built-in on first view, audited by nobody)."""
    from sqlalchemy import func, select

    from api.store import models as m

    def counts() -> tuple[int, int]:
        with store.engine.connect() as conn:
            return (conn.scalar(select(func.count()).select_from(m.RuleSetRecord)),
                    conn.scalar(select(func.count()).select_from(m.AuditLog).where(m.AuditLog.entity == "ruleset")))

    before = counts()
    for path in ("/web/rulesets", "/web/rulesets/chengdu-2020", "/web/rulesets/chengdu-2023",
                 "/web/rulesets/diff?a=chengdu-2020&b=chengdu-2023", "/web/evaluate", "/web/check"):
        assert client.get(path, headers=cookies["admin"]).status_code == 200, path
    assert counts() == before
