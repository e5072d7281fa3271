"""Zone proposals (工业红线、蓝线划定建议) with the maps module: generate, view, download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request

from api.services.runs import store_key


def proposal_file(request: Request, dataset_id: int, name: str) -> Path:
    """A file of a dataset's proposal (``map.html``, ``zones.gpkg``) in the pages' folder."""
    settings = request.app.state.settings
    return (
        Path(settings.data_dir) / "web" / "zones" / store_key(settings) / str(int(dataset_id)) / name
    )


def proposal_status(request: Request) -> dict[str, Any]:
    """What the zone page shows: datasets (with zone layers or not) and which have a proposal."""
    from api.store.repository import list_datasets, reading

    datasets = reading(request.app.state.engine, list_datasets)
    rows = []
    for d in datasets:
        counts = d.get("counts") or {}
        rows.append(
            {
                **d,
                "usable": any(k.startswith("zone_") for k in counts),
                "has_proposal": proposal_file(request, d["id"], "zones.gpkg").is_file(),
            }
        )
    return {"datasets": rows, "available": True}


def propose(request: Request, dataset_id: int, actor: str, ruleset_ref: str = "chengdu-2023") -> str | None:
    """Propose red/blue lines for a dataset with ``gis.zone_proposal``; returns an error message or None."""
    from api.services import checks
    from api.store.errors import NotFound
    from api.store.evaluations import load_inputs_from_store
    from api.store.repository import reading
    from gis.io import write_layer
    from gis.maps import save_map, zone_map
    from gis.zone_proposal import compare_zones, propose_zones

    engine = request.app.state.engine
    try:
        ruleset = checks.ruleset(engine, ruleset_ref)  # parsed once per server
        inputs = reading(engine, load_inputs_from_store, dataset_id)
    except NotFound as exc:
        return exc.message
    zones = inputs.zones or {}
    if "urban_dev_boundary" not in zones and "parks" not in zones:
        from gis.vocabulary import ZONE_LAYER_LABELS

        return (
            f"数据集 {dataset_id} 没有{ZONE_LAYER_LABELS['parks']}或{ZONE_LAYER_LABELS['urban_dev_boundary']}"
            "图层，无法划定红线、蓝线建议 (the dataset has neither a parks nor an urban development boundary layer)"
        )
    from api.cli_maps import is_industrial

    vocab = ruleset.parameters.industrial_land_use
    flags = is_industrial(inputs.parcels["land_use"], {"exact": list(vocab.exact), "prefixes": list(vocab.prefixes)})
    p = ruleset.parameters
    proposal = propose_zones(
        inputs.parcels,
        zones.get("parks"),
        zones.get("urban_dev_boundary"),
        zones.get("planned_construction_area"),
        is_industrial=flags,
        block_gap_m=p.block_gap_m,
        block_min_mu=p.block_min_mu,
    )
    diff = compare_zones(proposal, zones, inputs.parcels, flags)
    out = proposal_file(request, dataset_id, "zones.gpkg")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    # the same layers as ``mujun zones propose``
    for name in ("red_line", "blue_line"):
        write_layer(proposal[name], tmp, layer=name)
    write_layer(proposal["parcels"], tmp, layer="proposal_parcels")
    for name, layer in diff.items():
        write_layer(layer, tmp, layer=name)
    existing = {k: zones[k] for k in ("red_line", "blue_line") if k in zones}
    context = {k: v for k, v in zones.items() if k not in existing}
    m = zone_map(
        proposal,
        existing,
        diff,
        inputs.parcels,
        flags,
        context,
        inline=True,
        title=f"工业红线、蓝线划定建议（数据集 {dataset_id}）",
    )
    save_map(m, proposal_file(request, dataset_id, "map.html"))
    tmp.replace(out)
    return None
