"""The planners' pages under ``/web/``, one router per page group (as the JSON API's ``routes_*`` modules).

Each page module holds a module-level ``router``; the user comes in through a dependency per role
(``_shared.WebReader`` / ``WebAnalyst`` / ``WebAdmin``, as ``api.deps``' ``Reader`` / ``Analyst`` / ``Admin``),
a run through ``_shared.Run``. Pages hold no SQL: they call the services (``api.services``) and the store's
functions, the same ones the JSON routes call.

| module | pages |
|---|---|
| ``signin`` | ``/login``, ``/logout`` |
| ``dashboard`` | ``/`` |
| ``imports`` | ``/import``, ``/import/confirm`` |
| ``runs`` | ``/evaluate``, ``/runs``, ``/runs/{id}`` (+ ``status.json``, ``map``, ``print``, ``download/{fmt}``) |
| ``parcels`` | ``/runs/{id}/parcels/{parcel_id}`` |
| ``mujun`` | 亩产论英雄: ``/mujun``, ``/runs/{id}/mujun`` |
| ``check`` | ``/check``, ``/check/context.geojson`` |
| ``rulesets`` | ``/rulesets``, ``/rulesets/diff``, ``/rulesets/{ref}`` |
| ``compare`` | 预演: ``/rulesets/preview`` (POST), ``/compare?a=&b=``, ``/compare/download/{fmt}`` |
| ``trend`` | 年度趋势: ``/trend?runs=``, ``/trend/download.xlsx`` |
| ``zones`` | ``/zones``, ``/zones/propose``, ``/zones/{id}/map``, ``/zones/{id}/download`` |
"""

from __future__ import annotations

from api.web.pages import (
    check,
    compare,
    dashboard,
    imports,
    mujun,
    parcels,
    rulesets,
    runs,
    signin,
    trend,
    zones,
)
from api.web.pages._shared import install_error_pages

ROUTERS = tuple(m.router for m in (signin, dashboard, imports, runs, parcels, mujun, check, rulesets, compare,
                                   trend, zones))

__all__ = ["ROUTERS", "install_error_pages"]
