"""The timeline route, the parcel page's timeline and the notices zip of the results page: the real app on
SpatiaLite and PostGIS, over the sample data evaluated as of 2025-06-30 (``conftest.sample``)."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from tests.conftest import DATA_DIR, SAMPLE_AS_OF

PARCEL = "CD-CH-0001"  # started, then halted: Order 53's clock runs from halted_since


@pytest.fixture(scope="module")
def halted_since() -> dt.date:
    from gis.io import read_parcels

    parcels, _ = read_parcels(DATA_DIR / "parcels.gpkg")
    row = parcels[parcels["parcel_id"] == PARCEL].iloc[0]
    assert row["status"] == "under_construction" and row["halted_since"] == row["halted_since"]
    return row["halted_since"].date()


def test_timeline_route_gives_the_two_year_date_known_by_hand(client, sample, halted_since):
    r = client.get(f"/evaluations/{sample['run']}/parcels/{PARCEL}/timeline", headers=client.as_role("viewer"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["run"], body["parcel_id"], body["as_of"]) == (sample["run"], PARCEL, SAMPLE_AS_OF.isoformat())
    by_event = {e["event"]: e for e in body["events"]}
    # 满两年: the same calendar day two years after halted_since (not 730 days); counted from the as-of date
    two_years = halted_since.replace(year=halted_since.year + 2)
    recover = by_event["idle_recover"]
    assert recover["date"] == two_years.isoformat()
    assert recover["days"] == (two_years - SAMPLE_AS_OF).days
    assert recover["phase"] == ("upcoming" if two_years > SAMPLE_AS_OF else "past")
    assert recover["label"] == "满两年（收回）" and recover["deadline"] is True
    assert by_event["idle_fee"]["date"] == halted_since.replace(year=halted_since.year + 1).isoformat()
    assert by_event["halted"]["date"] == halted_since.isoformat()
    assert by_event["evaluation"]["phase"] == "today" and by_event["evaluation"]["days"] == 0
    dates = [e["date"] for e in body["events"]]
    assert dates == sorted(dates)  # one ordered list


def test_timeline_route_errors(client, sample):
    r = client.get(f"/evaluations/{sample['run']}/parcels/NO-SUCH/timeline", headers=client.as_role("viewer"))
    assert r.status_code == 404 and "NO-SUCH" in r.text  # the message names the parcel
    assert client.get(f"/evaluations/{sample['run']}/parcels/{PARCEL}/timeline").status_code == 401


@pytest.fixture(scope="module")
def cookie(client, tokens) -> dict[str, str]:
    r = client.post("/web/login", data={"token": tokens["viewer"]}, follow_redirects=False)
    assert r.status_code == 303, r.text
    client.cookies.clear()
    return {"Cookie": f"mujun_session={r.cookies['mujun_session']}"}


def test_parcel_page_draws_the_timeline(client, sample, cookie, halted_since):
    r = client.get(f"/web/runs/{sample['run']}/parcels/{PARCEL}", headers=cookie)
    assert r.status_code == 200
    html = r.text
    assert 'id="timeline"' in html and 'class="mj-chart mj-timeline"' in html
    two_years = halted_since.replace(year=halted_since.year + 2).isoformat()
    rows = html[html.index('id="timeline-events"'):]
    assert f"<td>{two_years}</td><td>满两年（收回）</td>" in rows


def test_results_page_notices_zip_has_one_notice_per_flagged_parcel(client, sample, cookie):
    import docx

    run = sample["run"]
    page = client.get(f"/web/runs/{run}", headers=cookie).text
    assert f'href="/web/runs/{run}/notices.zip"' in page
    r = client.get(f"/web/runs/{run}/notices.zip?kind=standard_land", headers=cookie)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    # counted from the run's verdicts: 标准地 whose performance review failed
    failed = client.get(f"/evaluations/{run}/verdicts", headers=client.as_role("viewer"),
                        params={"rule": "standard_land.performance", "status": "fail", "limit": 1000}).json()
    ids = sorted(v["subject_id"] for v in failed["verdicts"])
    assert failed["numberMatched"] > 0
    assert sorted(n.removeprefix("标准地达产复核意见_").removesuffix(".docx") for n in names) == ids
    first = ids[0]
    doc = docx.Document(io.BytesIO(zipfile.ZipFile(io.BytesIO(r.content)).read(f"标准地达产复核意见_{first}.docx")))
    text = "\n".join(p.text for p in doc.paragraphs)
    message = next(v["message"] for v in failed["verdicts"] if v["subject_id"] == first)
    assert f"宗地编号 {first}" in text and message in text  # the verdict's shortfalls, measured against commitments
    assert client.get(f"/web/runs/{run}/notices.zip?kind=bogus", headers=cookie).status_code == 404


def test_results_page_warnings_xlsx(client, sample, cookie):
    import openpyxl

    run = sample["run"]
    assert f'href="/web/runs/{run}/warnings.xlsx?within=90"' in client.get(f"/web/runs/{run}", headers=cookie).text
    r = client.get(f"/web/runs/{run}/warnings.xlsx?within=133", headers=cookie)
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.content))["预警清单"]
    rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    days = [row[1] for row in rows]
    assert days == sorted(days) and 0 <= days[0] and days[-1] <= 133
    # CD-CH-0001: halted 2023-11-10, 满两年 2025-11-10 = 133 days after 2025-06-30 (Jul 31 + Aug 31 + Sep 30 +
    # Oct 31 + Nov 10): the last day of the horizon counts
    assert [PARCEL, "满两年（收回）"] in [row[2:4] for row in rows]
    assert client.get(f"/web/runs/{run}/warnings.xlsx?within=-1", headers=cookie).status_code == 404


def test_warnings_route_horizon(client, sample):
    def items(within: int) -> list[tuple[str, str]]:
        r = client.get(f"/evaluations/{sample['run']}/warnings", params={"within": within},
                       headers=client.as_role("viewer"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["numberMatched"] == len(body["warnings"]) and body["within"] == within
        assert all(0 <= w["days"] <= within for w in body["warnings"])
        return [(w["parcel_id"], w["event"]) for w in body["warnings"]]

    # CD-CH-0001's 满两年 is 133 days after the as-of date (see test_results_page_warnings_xlsx)
    assert (PARCEL, "idle_recover") in items(133)
    assert (PARCEL, "idle_recover") not in items(132)
    bad = client.get(f"/evaluations/{sample['run']}/warnings", params={"within": -1},
                     headers=client.as_role("viewer"))
    assert bad.status_code == 400


def test_the_as_of_event_names_the_firms_grade(client, sample):
    import pandas as pd

    from rules.vocabulary import code_label

    occ = pd.read_csv(DATA_DIR / "occupancy.csv", encoding="utf-8-sig", dtype=str)
    firms = pd.read_csv(DATA_DIR / "enterprises.csv", encoding="utf-8-sig", dtype=str)
    (firm,) = occ.loc[occ["parcel_id"] == PARCEL, "enterprise_id"]
    name = firms.loc[firms["enterprise_id"] == firm, "name"].item()
    graded = client.get(f"/evaluations/{sample['run']}/verdicts", headers=client.as_role("viewer"),
                        params={"rule": "mujun.grade", "level": "enterprise", "subject": firm}).json()["verdicts"]
    (grade,) = [v["code"] for v in graded]
    body = client.get(f"/evaluations/{sample['run']}/parcels/{PARCEL}/timeline",
                      headers=client.as_role("viewer")).json()
    (as_of,) = [e for e in body["events"] if e["event"] == "evaluation"]
    assert as_of["detail"].endswith(f"亩产论英雄：{name} {code_label(grade)}")
