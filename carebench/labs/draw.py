"""Draw guidance: from the ordered tests, the containers to fill and the order to fill them.

Pure: plain data in, plain data out (no Django). The rules:

- Tests that go in the same container type share a tube; their minimum volumes add up.
- When the sum is more than one tube holds, the tests spill into a second tube (first fit, in
  the order the tests were given). A test that alone needs more than a tube holds (a blood
  culture set) takes as many tubes as it needs.
- Venous tubes are drawn in the CLSI GP41 order of draw: blood culture bottles, light-blue
  citrate, red / gold serum, green heparin, lavender EDTA, grey fluoride-oxalate. Urine cups,
  swabs and fingersticks are listed separately: they are not part of the venipuncture.
- A light-blue citrate tube drawn first with a winged (butterfly) set needs a discard tube
  first: the tubing's air would otherwise under-fill it and spoil the 9:1 blood-to-citrate ratio.
- Fasting and timing needs of any test are surfaced once for the whole draw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class ContainerType:
    code: str
    label: str  # what the MAT reaches for
    cap_colour: str  # the swatch's CSS class suffix: cap-<cap_colour>
    additive: str
    capacity_ml: Decimal  # draw volume of one tube; 0 = not measured by volume
    draw_rank: int  # position in the order of draw; 100+ = not part of the venipuncture
    shared: bool = True  # may several tests share one container?
    must_fill: bool = False  # light blue: fill to the line
    note: str = ""

    @property
    def venous(self) -> bool:
        return self.draw_rank < 100


CONTAINERS: dict[str, ContainerType] = {
    c.code: c
    for c in [
        ContainerType(
            "blood_culture",
            "Blood culture bottle",
            "culture",
            "broth (aerobic / anaerobic)",
            Decimal("10"),
            1,
            note="Disinfect the bottle tops; with a winged set fill the aerobic bottle first.",
        ),
        ContainerType(
            "light_blue",
            "Light-blue top (sodium citrate 3.2%)",
            "light-blue",
            "sodium citrate",
            Decimal("2.7"),
            2,
            must_fill=True,
            note="Fill to the line (9:1 blood to citrate); invert gently 3-4 times.",
        ),
        ContainerType(
            "red",
            "Red top (plain serum, no gel)",
            "red",
            "clot activator",
            Decimal("6"),
            3,
            note="Let clot 30 minutes upright before centrifuging.",
        ),
        ContainerType(
            "gold_sst",
            "Gold top SST (serum separator)",
            "gold",
            "clot activator and gel",
            Decimal("5"),
            4,
            note="Invert 5 times; let clot 30 minutes upright before centrifuging.",
        ),
        ContainerType(
            "green",
            "Green top (lithium heparin)",
            "green",
            "lithium heparin",
            Decimal("4"),
            5,
            note="Invert 8-10 times.",
        ),
        ContainerType(
            "lavender",
            "Lavender top (K2 EDTA)",
            "lavender",
            "K2 EDTA",
            Decimal("4"),
            6,
            note="Invert 8-10 times; do not centrifuge for a CBC.",
        ),
        ContainerType(
            "grey",
            "Grey top (sodium fluoride / potassium oxalate)",
            "grey",
            "sodium fluoride, potassium oxalate",
            Decimal("4"),
            7,
            note="Invert 8-10 times.",
        ),
        ContainerType(
            "urine_cup",
            "Sterile urine cup (clean-catch midstream)",
            "urine",
            "none",
            Decimal("90"),
            101,
            note="Clean-catch midstream; label the cup, not the lid.",
        ),
        ContainerType(
            "urine_first_catch",
            "Urine cup (first-catch)",
            "urine",
            "none",
            Decimal("30"),
            102,
            note="First 20-30 mL of the stream; no voiding for 1 hour before.",
        ),
        ContainerType(
            "swab",
            "Swab with transport medium",
            "swab",
            "transport medium",
            ZERO,
            103,
            shared=False,
        ),
        ContainerType(
            "capillary",
            "Fingerstick (capillary)",
            "capillary",
            "none",
            ZERO,
            104,
            shared=False,
            note="Wipe away the first drop.",
        ),
    ]
}

DISCARD_NOTE = (
    "Discard tube first: a light-blue citrate tube is the first tube and a winged (butterfly) set "
    "is used, so draw a few mL into a discard tube (plain red or another light-blue) to fill the "
    "tubing; then draw the light-blue tube. Do not label or send the discard tube."
)


class DrawError(ValueError):
    """An ordered test names no container we know."""


@dataclass(frozen=True)
class TestNeed:
    """What one ordered test needs from the draw."""

    __test__ = False  # not a pytest test class

    key: str  # the order item's id (or the test code), carried through to the tube
    code: str  # short code shown on the label, e.g. CBC
    container: str
    min_volume_ml: Decimal = ZERO
    fasting: bool = False
    timing_note: str = ""
    name: str = ""


@dataclass
class Tube:
    container: ContainerType
    tests: list[TestNeed] = field(default_factory=list)
    volume_ml: Decimal = ZERO  # the tests' minimum volumes added up
    sequence: int = 0  # 1-based position in the draw (venous) or in the other list

    @property
    def codes(self) -> list[str]:
        return [t.code for t in self.tests]

    @property
    def draw_ml(self) -> Decimal:
        """How much to draw into this tube: a citrate tube is always filled to the line."""
        if self.container.must_fill:
            return self.container.capacity_ml
        return self.volume_ml


@dataclass
class DrawPlan:
    tubes: list[Tube]  # venous tubes in the order of draw
    other: list[Tube]  # urine, swabs, fingersticks
    fasting: bool
    fasting_tests: list[str]
    timing: list[tuple[str, str]]  # (test code, note)
    notes: list[str]

    @property
    def all(self) -> list[Tube]:
        return self.tubes + self.other

    @property
    def total_blood_ml(self) -> Decimal:
        return sum((t.draw_ml for t in self.tubes), ZERO)


def _pack(container: ContainerType, needs: list[TestNeed]) -> list[Tube]:
    """First-fit packing of the tests into as few tubes of this container as hold them."""
    tubes: list[Tube] = []
    shareable: list[Tube] = []  # tubes other tests may still go into
    capacity = container.capacity_ml
    for need in needs:
        volume = max(need.min_volume_ml, ZERO)
        if not container.shared or capacity <= 0:
            tubes.append(Tube(container, [need], volume))
            continue
        if volume > capacity:
            # One test bigger than a tube (a blood culture set): its own tubes, split evenly.
            count = int((volume / capacity).to_integral_value(rounding=ROUND_CEILING))
            share = (volume / count).quantize(Decimal("0.1"), rounding=ROUND_CEILING)
            tubes.extend(Tube(container, [need], min(share, capacity)) for _ in range(count))
            continue
        for tube in shareable:
            if tube.volume_ml + volume <= capacity:
                tube.tests.append(need)
                tube.volume_ml += volume
                break
        else:
            tube = Tube(container, [need], volume)
            tubes.append(tube)
            shareable.append(tube)
    return tubes


def plan_draw(tests: Iterable[TestNeed], *, winged_set: bool = False) -> DrawPlan:
    """The tubes to draw, in order, for these tests (see the module's docstring)."""
    by_container: dict[str, list[TestNeed]] = {}
    for need in tests:
        if need.container not in CONTAINERS:
            raise DrawError(f"{need.code}: unknown container {need.container!r}")
        by_container.setdefault(need.container, []).append(need)
    ordered = sorted(by_container, key=lambda code: (CONTAINERS[code].draw_rank, code))
    tubes: list[Tube] = []
    other: list[Tube] = []
    for code in ordered:
        container = CONTAINERS[code]
        (tubes if container.venous else other).extend(_pack(container, by_container[code]))
    for number, tube in enumerate(tubes, start=1):
        tube.sequence = number
    for number, tube in enumerate(other, start=1):
        tube.sequence = number
    all_needs = [need for needs in by_container.values() for need in needs]
    fasting_tests = _unique(n.code for n in all_needs if n.fasting)
    timing: list[tuple[str, str]] = []
    for need in all_needs:
        if need.timing_note and (need.code, need.timing_note) not in timing:
            timing.append((need.code, need.timing_note))
    notes: list[str] = []
    if winged_set and tubes and tubes[0].container.code == "light_blue":
        notes.append(DISCARD_NOTE)
    return DrawPlan(
        tubes=tubes,
        other=other,
        fasting=bool(fasting_tests),
        fasting_tests=fasting_tests,
        timing=timing,
        notes=notes,
    )


def _unique(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
