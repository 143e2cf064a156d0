"""Demo data for the lab corner: the shipped test catalog, loaded once per organization, and
point-of-care kits, meters and a passing QC run every day the demo starts."""

from __future__ import annotations

from datetime import timedelta

from carebench.accounts.models import User
from carebench.core import clock
from carebench.core.actor import Actor
from carebench.core.models import Organization

from . import poc, poc_services, result_selectors, services
from .models import LabTest, PocDevice, PocKitLot


def load_catalog(org: Organization) -> int:
    """Load the shipped catalog into `org` unless it already has tests (idempotent, fast)."""
    if LabTest.objects.for_org(org).exists():
        return 0
    loaded = services.load_shipped_catalog(actor=Actor.system(org))
    return loaded.created


# --- point-of-care kits, devices and today's QC ------------------------------------------------

DEMO_KITS = {  # catalog code -> (kit, manufacturer)
    "UADIP": ("Multistix 10 SG", "Siemens"),
    "RSTREP": ("QuickVue Strep A", "QuidelOrtho"),
    "UHCG": ("QuickVue+ hCG", "QuidelOrtho"),
    "FLUAG": ("BinaxNOW Influenza A & B", "Abbott"),
    "COVAG": ("BinaxNOW COVID-19 Ag Card", "Abbott"),
    "GLUPOC": ("Contour Next test strips", "Ascensia"),
    "A1CPOC": ("Afinion HbA1c cartridges", "Abbott"),
    "HGBPOC": ("HemoCue Hb 201 microcuvettes", "HemoCue"),
}
DEMO_DEVICES = [  # (name, model, serial, test code)
    ("Glucometer room 3", "Contour Next One", "CN-20417", "GLUPOC"),
    ("A1c analyser", "Afinion 2", "AF2-88310", "A1CPOC"),
    ("Hemoglobin meter", "HemoCue Hb 201+", "HC-55102", "HGBPOC"),
]
METER_CONTROLS = {  # test code -> [(level, expected range on the bottle, observed)]
    "GLUPOC": [("Level 1 (low)", "36-60", "48"), ("Level 2 (high)", "250-350", "298")],
    "A1CPOC": [("Level 1 (low)", "5.0-6.2", "5.6"), ("Level 2 (high)", "8.6-10.6", "9.5")],
    "HGBPOC": [("Level 1 (low)", "7.5-9.5", "8.4"), ("Level 2 (high)", "15.0-17.0", "16.1")],
}
EXPIRED_LOT = "MS10-2301"  # an expired Multistix lot, kept to show it is refused


def _poc_user(org: Organization) -> User | None:
    return (
        User.objects.filter(organization=org, username="mat").first()
        or User.objects.filter(organization=org, groups__name="mat", is_active=True)
        .order_by("pk")
        .first()
    )


def ensure_poc_today(org: Organization) -> int:
    """Kit lots (one of them expired), meters, and a passing QC run today on every usable lot and
    meter, so point-of-care entry works in the demo whatever day it is. Returns the QC runs made."""
    user = _poc_user(org)
    if user is None:
        return 0
    actor = Actor.system(org, user=user)
    zone = poc_services.zone_for(actor)
    today = clock.today(zone)
    tests = {t.code: t for t in result_selectors.poc_tests(org)}
    existing = {d.serial_number for d in PocDevice.objects.for_org(org)}
    for name, model, serial, code in DEMO_DEVICES:
        if serial not in existing and code in tests:
            poc_services.add_device(
                actor=actor, name=name, model_name=model, serial_number=serial, tests=[tests[code]]
            )
    if (
        "UADIP" in tests
        and not PocKitLot.objects.for_org(org).filter(lot_number=EXPIRED_LOT).exists()
    ):
        with clock.frozen(clock.now() - timedelta(days=400)):
            poc_services.add_kit_lot(
                actor=actor,
                test=tests["UADIP"],
                kit_name=DEMO_KITS["UADIP"][0],
                manufacturer=DEMO_KITS["UADIP"][1],
                lot_number=EXPIRED_LOT,
                expires_on=today - timedelta(days=30),
            )
    lots: dict[str, PocKitLot] = {}
    for code, test in tests.items():
        usable = (
            PocKitLot.objects.for_org(org)
            .filter(test=test, is_active=True, expires_on__gte=today)
            .order_by("expires_on")
            .first()
        )
        if usable is None and code in DEMO_KITS:
            kit, maker = DEMO_KITS[code]
            usable = poc_services.add_kit_lot(
                actor=actor,
                test=test,
                kit_name=kit,
                manufacturer=maker,
                lot_number=f"{code}-{today:%y%m%d}",
                expires_on=today + timedelta(days=365),
                received_on=today,
            )
        if usable is not None:
            lots[code] = usable
    qc = result_selectors.qc_today(org, day=today, zone=zone)
    made = 0
    for code, lot in lots.items():
        definition = poc.TESTS[code]
        if definition.meter:
            continue
        latest = qc.lot(lot.pk)
        if latest is None or not latest.passed:
            levels = [poc.QcLevel(s.name, s.expected, s.expected) for s in definition.qc_levels]
            poc_services.record_qc_run(actor=actor, test=lot.test, kit_lot=lot, levels=levels)
            made += 1
    for device in result_selectors.devices(org):
        for test in device.tests.all():
            latest = qc.device(device.pk, test.pk)
            if test.code in METER_CONTROLS and (latest is None or not latest.passed):
                poc_services.record_qc_run(
                    actor=actor,
                    test=test,
                    device=device,
                    kit_lot=lots.get(test.code),
                    levels=[poc.QcLevel(*level) for level in METER_CONTROLS[test.code]],
                )
                made += 1
    return made
