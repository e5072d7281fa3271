"""The API's own HTML works on an intranet: no CDN in the API docs, browsers at / land on the web pages."""

from __future__ import annotations

import re


def test_api_docs_load_only_local_assets(client):
    page = client.get("/api.html")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert urls, "the docs page names its script and stylesheet"
    assert not [u for u in urls if u.startswith(("http://", "https://", "//"))]
    for url in urls:
        if url.startswith("/"):
            assert client.get(url).status_code == 200, url
    assert "'/api'" in page.text or '"/api"' in page.text  # the OpenAPI document it renders


def test_browser_at_root_goes_to_web_pages_api_clients_get_json(client):
    r = client.get("/", headers={"Accept": "text/html,application/xhtml+xml"}, follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/web/"
    r = client.get("/?f=json", headers={"Accept": "text/html", **client.as_role("viewer")}, follow_redirects=False)
    assert r.status_code == 200 and r.json()["links"]
    r = client.get("/", headers={"Accept": "application/json", **client.as_role("viewer")})
    assert r.status_code == 200 and "links" in r.json()
