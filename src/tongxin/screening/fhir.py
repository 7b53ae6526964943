"""FHIR R4 export of a round's results: one Bundle of type collection.

Per resulted tube: a Specimen for the pooled tube, a child Specimen per swab whose `parent`
is the tube, an Observation (LOINC 94500-6, SNOMED result, Ct as a component when the lab
gave one) and a DiagnosticReport. Per tested person: one Patient.

Privacy: the bundle identifies people by their resident code (walk-ins by the id of their
first swab event) and carries ID numbers and phones masked only, as the community exports
do; whoever needs the full record looks it up in the registry by resident code.

Ids are UUID5 of stable keys (tube barcode, resident code, swab event id), so exporting the
same round twice gives the same bundle and references between exports stay valid.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tongxin.privacy.rules import mask_id_number, mask_phone
from tongxin.registry.models import Resident
from tongxin.screening.models import Round, Swab, Tube

FHIR_NAMESPACE = uuid.UUID("0b6a3a55-36c8-4f4e-9a57-6c2f6e9d8f41")
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
RESIDENT_CODE_SYSTEM = "urn:tongxin:resident-code"
WALK_IN_SYSTEM = "urn:tongxin:walk-in"
TUBE_SYSTEM = "urn:tongxin:tube"
SWAB_SYSTEM = "urn:tongxin:swab"

SARS_COV_2_RNA = {
    "coding": [
        {
            "system": LOINC,
            "code": "94500-6",
            "display": "SARS-CoV-2 (COVID-19) RNA [Presence] in Respiratory specimen by NAA "
            "with probe detection",
        }
    ],
    "text": "新冠病毒核酸检测 SARS-CoV-2 RNA",
}
RESULT_CODES = {
    "negative": ("260385009", "Negative", "阴性"),
    "positive": ("10828004", "Positive", "阳性"),
    "invalid": ("455371000124106", "Invalid result", "无效"),
}
GENDERS = {"M": "male", "F": "female"}


def _uuid(kind: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(FHIR_NAMESPACE, f'{kind}|{key}')}"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _mask_phone(phone: str | None) -> str | None:
    return mask_phone(phone) or None


def _mask_id(number: str | None) -> str | None:
    return mask_id_number(number) or None


def _drop_empty(resource: dict[str, Any]) -> dict[str, Any]:
    # FHIR forbids empty values and nulls; leave absent what we do not know.
    return {k: v for k, v in resource.items() if v not in (None, [], {}, "")}


def _patient(
    full_url: str, *, identifier: dict[str, str], person: dict[str, Any]
) -> dict[str, Any]:
    identifiers: list[dict[str, Any]] = [{"use": "usual", **identifier}]
    masked = _mask_id(person.get("id_number"))
    if masked:
        masked_type = {"text": "身份证件号(脱敏) masked ID number"}
        identifiers.append({"use": "secondary", "type": masked_type, "value": masked})
    phone = _mask_phone(person.get("phone"))
    return _drop_empty(
        {
            "resourceType": "Patient",
            "id": full_url.rsplit(":", 1)[1],
            "identifier": identifiers,
            "name": [{"text": person["name"]}] if person.get("name") else None,
            "telecom": [{"system": "phone", "value": phone}] if phone else None,
            "gender": GENDERS.get(person.get("gender") or ""),
            "birthDate": person["birth_date"].isoformat() if person.get("birth_date") else None,
        }
    )


def fhir_bundle(session: Session, *, round_id: int) -> dict[str, Any]:
    """Return the round's results as a FHIR R4 Bundle (type collection), as plain JSON data."""
    rnd = session.get(Round, round_id)
    if rnd is None:
        raise ValueError(f"no round {round_id}")
    tubes = session.execute(
        select(
            Tube.id,
            Tube.barcode,
            Tube.capacity,
            Tube.member_count,
            Tube.opened_at,
            Tube.received_at,
            Tube.condition,
            Tube.result,
            Tube.ct,
            Tube.resulted_at,
        )
        .where(Tube.round_id == round_id, Tube.result.is_not(None))
        .order_by(Tube.barcode)
    ).all()
    swabs_by_tube: dict[int, list[Any]] = defaultdict(list)
    resident_ids: set[int] = set()
    if tubes:
        for swab in session.execute(
            select(
                Swab.tube_id,
                Swab.position,
                Swab.event_id,
                Swab.resident_id,
                Swab.id_number,
                Swab.name,
                Swab.phone,
                Swab.taken_at,
            )
            .join(Tube, Tube.id == Swab.tube_id)
            .where(Swab.round_id == round_id, Tube.result.is_not(None))
            .order_by(Swab.tube_id, Swab.position)
        ):
            swabs_by_tube[swab.tube_id].append(swab)
            if swab.resident_id is not None:
                resident_ids.add(swab.resident_id)
    residents: dict[int, Any] = {}
    ordered_ids = sorted(resident_ids)
    for start in range(0, len(ordered_ids), 500):
        for r in session.execute(
            select(
                Resident.id,
                Resident.resident_code,
                Resident.name,
                Resident.gender,
                Resident.birth_date,
                Resident.phone,
                Resident.id_number,
            ).where(Resident.id.in_(ordered_ids[start : start + 500]))
        ):
            residents[r.id] = r

    entries: list[dict[str, Any]] = []
    patients: dict[str, str] = {}  # person key -> fullUrl

    def patient_of(swab: Any) -> str:
        resident = residents.get(swab.resident_id) if swab.resident_id is not None else None
        if resident is not None:
            key = f"resident|{resident.resident_code}"
            identifier = {"system": RESIDENT_CODE_SYSTEM, "value": resident.resident_code}
            person = resident._asdict()
        else:
            # A walk-in is one person per ID number within the round.
            key = f"walk-in|{(swab.id_number or swab.event_id).upper()}"
            identifier = {"system": WALK_IN_SYSTEM, "value": swab.event_id}
            person = {"name": swab.name, "phone": swab.phone, "id_number": swab.id_number}
        if key not in patients:
            url = _uuid("Patient", key)
            patients[key] = url
            entries.append(
                {"fullUrl": url, "resource": _patient(url, identifier=identifier, person=person)}
            )
        return patients[key]

    for tube in tubes:
        members = swabs_by_tube.get(tube.id, [])
        tube_url = _uuid("Specimen", tube.barcode)
        observation_url = _uuid("Observation", tube.barcode)
        report_url = _uuid("DiagnosticReport", tube.barcode)
        member_patients = [patient_of(s) for s in members]
        collected = min((s.taken_at for s in members), default=tube.opened_at)
        # A pooled result belongs to no single person; a one-member tube's does.
        subject = {"subject": {"reference": member_patients[0]}} if len(members) == 1 else {}
        pooled = _drop_empty(
            {
                "resourceType": "Specimen",
                "id": tube_url.rsplit(":", 1)[1],
                "identifier": [{"system": TUBE_SYSTEM, "value": tube.barcode}],
                "accessionIdentifier": {"system": TUBE_SYSTEM, "value": tube.barcode},
                "status": "available" if tube.condition in (None, "good") else "unsatisfactory",
                "type": {"text": f"混采管 pooled swab tube ({len(members)} members)"},
                "receivedTime": _when(tube.received_at),
                "collection": {"collectedDateTime": _when(collected)} if collected else None,
                "condition": [{"text": tube.condition}] if tube.condition else None,
                **subject,
            }
        )
        entries.append({"fullUrl": tube_url, "resource": pooled})
        for swab, patient_url in zip(members, member_patients, strict=True):
            swab_url = _uuid("Specimen", f"{tube.barcode}|{swab.position}")
            entries.append(
                {
                    "fullUrl": swab_url,
                    "resource": {
                        "resourceType": "Specimen",
                        "id": swab_url.rsplit(":", 1)[1],
                        "identifier": [
                            {"system": SWAB_SYSTEM, "value": f"{tube.barcode}-{swab.position}"}
                        ],
                        "status": "available",
                        "type": {"text": "咽拭子 oropharyngeal swab"},
                        "subject": {"reference": patient_url},
                        "parent": [{"reference": tube_url}],
                        "collection": {"collectedDateTime": swab.taken_at.isoformat()},
                    },
                }
            )
        code, display, zh = RESULT_CODES[tube.result]
        observation = _drop_empty(
            {
                "resourceType": "Observation",
                "id": observation_url.rsplit(":", 1)[1],
                "status": "final",
                "category": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/"
                                "observation-category",
                                "code": "laboratory",
                            }
                        ]
                    }
                ],
                "code": SARS_COV_2_RNA,
                **subject,
                "effectiveDateTime": _when(collected),
                "issued": _when(tube.resulted_at),
                "valueCodeableConcept": {
                    "coding": [{"system": SNOMED, "code": code, "display": display}],
                    "text": zh,
                },
                "specimen": {"reference": tube_url},
                "component": [
                    {
                        "code": {"text": "Ct (cycle threshold, lowest gene reported)"},
                        "valueQuantity": {
                            "value": tube.ct,
                            "unit": "Ct",
                            "system": UCUM,
                            "code": "{Ct_value}",
                        },
                    }
                ]
                if tube.ct is not None
                else None,
            }
        )
        entries.append({"fullUrl": observation_url, "resource": observation})
        report = _drop_empty(
            {
                "resourceType": "DiagnosticReport",
                "id": report_url.rsplit(":", 1)[1],
                "status": "final",
                "category": [{"coding": [{"system": V2_0074, "code": "LAB"}]}],
                "code": SARS_COV_2_RNA,
                **subject,
                "effectiveDateTime": _when(collected),
                "issued": _when(tube.resulted_at),
                "specimen": [{"reference": tube_url}],
                "result": [{"reference": observation_url}],
                "conclusion": f"{zh} {display}",
            }
        )
        entries.append({"fullUrl": report_url, "resource": report})
    last = max((t.resulted_at for t in tubes if t.resulted_at is not None), default=None)
    return _drop_empty(
        {
            "resourceType": "Bundle",
            "id": str(uuid.uuid5(FHIR_NAMESPACE, f"Bundle|{rnd.code}")),
            "identifier": {"system": "urn:tongxin:round", "value": rnd.code},
            "type": "collection",
            "timestamp": _when(last),
            "entry": entries,
        }
    )
