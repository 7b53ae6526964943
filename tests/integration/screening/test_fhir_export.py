"""The FHIR R4 export of a round's results, validated with fhir.resources."""

import json
from collections import Counter
from datetime import timedelta

from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories.screening import ROUND_START
from tests.integration.screening.lab_round import build_lab_round
from tongxin.cli import build
from tongxin.db import make_sessionmaker, session_scope
from tongxin.screening.fhir import fhir_bundle
from tongxin.screening.models import Round
from tongxin.screening.results import import_results, parse_table
from tongxin.settings import get_settings


def _report(session, lab, rows):
    data = ("管码,结果,Ct\n" + "\n".join(rows) + "\n").encode()
    out = import_results(
        session,
        parsed=parse_table("r.csv", data),
        round_code="R1",
        lab="LAB1",
        device="lab:LAB1",
        received_at=ROUND_START + timedelta(hours=5),
    )
    assert out.accepted == len(rows)


def _resulted_round(session):
    lab = build_lab_round(session)
    pooled, short, walk_in = lab.received
    _report(session, lab, [f"{pooled},阴性,", f"{short},阳性,27.5", f"{walk_in},无效,"])
    return lab


def by_type(bundle):
    out = {}
    for entry in bundle["entry"]:
        out.setdefault(entry["resource"]["resourceType"], []).append(entry)
    return out


def test_the_bundle_is_valid_fhir_with_tubes_as_parents_of_swabs(session):
    lab = _resulted_round(session)
    bundle = fhir_bundle(session, round_id=lab.setup.round.id)
    Bundle.model_validate(bundle)  # raises on any invalid resource
    assert bundle["type"] == "collection"
    counts = Counter(e["resource"]["resourceType"] for e in bundle["entry"])
    # 13 people in 3 resulted tubes; the never-received tube has no result and is left out.
    assert counts == {
        "Patient": 13,
        "Specimen": 3 + 13,
        "Observation": 3,
        "DiagnosticReport": 3,
    }
    urls = {e["fullUrl"] for e in bundle["entry"]}
    kinds = by_type(bundle)
    tube_specimens = {
        e["resource"]["identifier"][0]["value"]: e["fullUrl"]
        for e in kinds["Specimen"]
        if "parent" not in e["resource"]
    }
    assert set(tube_specimens) == set(lab.received)
    children = [e["resource"] for e in kinds["Specimen"] if "parent" in e["resource"]]
    per_tube = Counter(c["parent"][0]["reference"] for c in children)
    assert per_tube == {tube_specimens[lab.received[0]]: 10, tube_specimens[lab.received[1]]: 2,
                        tube_specimens[lab.received[2]]: 1}  # fmt: skip
    # Every reference resolves inside the bundle.
    for child in children:
        assert child["subject"]["reference"] in urls
    for entry in kinds["Observation"] + kinds["DiagnosticReport"]:
        resource = entry["resource"]
        specimen = resource["specimen"]
        refs = [specimen["reference"]] if isinstance(specimen, dict) else [
            s["reference"] for s in specimen
        ]  # fmt: skip
        assert all(r in urls for r in refs)


def test_observations_carry_loinc_snomed_and_the_ct_component(session):
    lab = _resulted_round(session)
    bundle = fhir_bundle(session, round_id=lab.setup.round.id)
    specimen_of = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    observations = {
        specimen_of[e["resource"]["specimen"]["reference"]]["identifier"][0]["value"]: e["resource"]
        for e in by_type(bundle)["Observation"]
    }
    pooled, short, walk_in = lab.received
    assert {t: o["valueCodeableConcept"]["coding"][0]["code"] for t, o in observations.items()} == {
        pooled: "260385009",
        short: "10828004",
        walk_in: "455371000124106",
    }
    assert all(o["code"]["coding"][0]["code"] == "94500-6" for o in observations.values())
    [ct] = observations[short]["component"]
    assert ct["valueQuantity"]["value"] == 27.5
    assert "component" not in observations[pooled]
    # A pooled result has no single subject; a one-member tube's result does.
    assert "subject" not in observations[pooled]
    assert observations[walk_in]["subject"]["reference"].startswith("urn:uuid:")


def test_patients_are_identified_by_resident_code_and_personal_data_is_masked(session):
    lab = _resulted_round(session)
    bundle = fhir_bundle(session, round_id=lab.setup.round.id)
    patients = [e["resource"] for e in by_type(bundle)["Patient"]]
    codes = {p["identifier"][0]["value"] for p in patients
             if p["identifier"][0]["system"] == "urn:tongxin:resident-code"}  # fmt: skip
    assert codes == {c for members in lab.members.values() for c in members}
    [walk_in] = [p for p in patients if p["identifier"][0]["system"] == "urn:tongxin:walk-in"]
    assert walk_in["name"] == [{"text": "王芳"}]
    assert walk_in["telecom"] == [{"system": "phone", "value": "139****5678"}]
    assert walk_in["identifier"][1]["value"] == "1101**********002X"
    text = json.dumps(bundle, ensure_ascii=False)
    assert "11010519491231002X" not in text and "13912345678" not in text


def test_the_same_round_exports_the_same_bundle_and_an_empty_round_is_valid(session):
    lab = build_lab_round(session)
    empty = fhir_bundle(session, round_id=lab.setup.round.id)
    Bundle.model_validate(empty)
    assert "entry" not in empty
    _report(session, lab, [f"{lab.received[0]},阴性,"])
    assert fhir_bundle(session, round_id=lab.setup.round.id) == fhir_bundle(
        session, round_id=lab.setup.round.id
    )


def test_cli_writes_the_bundle_and_prints_resource_counts(db, database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("TONGXIN_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        with session_scope(make_sessionmaker(db)) as s:
            _resulted_round(s)
        out = tmp_path / "bundle.json"
        result = CliRunner().invoke(
            build(), ["screening", "results", "fhir", "--round", "R1", "--out", str(out), "--json"]
        )
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        assert summary["resources"] == {
            "DiagnosticReport": 3, "Observation": 3, "Patient": 13, "Specimen": 16,
        }  # fmt: skip
        Bundle.model_validate_json(out.read_text(encoding="utf-8"))
        missing = CliRunner().invoke(
            build(), ["screening", "results", "fhir", "--round", "R9", "--out", str(out)]
        )
        assert missing.exit_code == 2 and "R9" in missing.stderr
    finally:
        get_settings.cache_clear()
    with session_scope(make_sessionmaker(db)) as s:
        assert s.scalar(select(Round.code)) == "R1"
