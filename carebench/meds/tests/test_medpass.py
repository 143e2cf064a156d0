"""Worked cases for the eMAR med pass engine (pure: no database)."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from carebench.meds.medpass import (
    DEFAULT_PASS_TIMES,
    FREQUENCIES,
    OUTCOMES,
    Absence,
    DoseRecordInfo,
    DoseStatus,
    HoldRule,
    OrderSchedule,
    ResidentInfo,
    check_holds,
    doses_at,
    doses_on,
    effectiveness_due,
    given_outcome,
    hold_text,
    lookup_frequency,
    missed_doses,
    parse_hold,
    pass_list,
    prn_check,
    room_sort_key,
    scheduled_times,
)

ZONE = "America/New_York"
NY = ZoneInfo(ZONE)
DAY = date(2025, 5, 14)  # a Wednesday, no DST change
SPRING = date(2025, 3, 9)  # US clocks go 02:00 -> 03:00
FALL = date(2025, 11, 2)  # US clocks go 02:00 -> 01:00


def at(day, hour, minute=0, fold=0):
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY, fold=fold)


def order(
    order_id=1,
    resident_id=1,
    drug="Metoprolol 25 mg tab",
    frequency="BID",
    times=None,
    start=date(2025, 1, 1),
    stop=None,
    **kwargs,
):
    if times is None:
        times = scheduled_times(frequency, DEFAULT_PASS_TIMES)
    return OrderSchedule(
        order_id, resident_id, drug, frequency, tuple(times), start, stop, **kwargs
    )


ALICE = ResidentInfo(1, "Alice Moore", "101A")


def passing(orders, *, residents=(ALICE,), day=DAY, center=time(8), now=None, **kwargs):
    return pass_list(
        orders,
        residents=residents,
        day=day,
        center=center,
        now=now if now is not None else at(day, 8),
        records=kwargs.pop("records", ()),
        absences=kwargs.pop("absences", ()),
        zone=ZONE,
        **kwargs,
    )


# --- frequencies -> times ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        ("QD", [time(8)]),
        ("DAILY", [time(8)]),
        ("QAM", [time(8)]),
        ("QPM", [time(20)]),
        ("QHS", [time(21)]),
        ("BID", [time(8), time(20)]),
        ("TID", [time(8), time(12), time(20)]),
        ("QID", [time(8), time(12), time(16), time(21)]),
        ("Q12H", [time(8), time(20)]),
        ("Q8H", [time(6), time(14), time(22)]),
        ("Q6H", [time(0), time(6), time(12), time(18)]),
        ("Q4H", [time(2), time(6), time(10), time(14), time(18), time(22)]),
        ("WEEKLY", [time(8)]),
        ("EVERY OTHER DAY", [time(8)]),
        ("PRN", []),
    ],
)
def test_each_frequency_gives_its_times_with_the_default_pass_times(frequency, expected):
    assert scheduled_times(frequency, DEFAULT_PASS_TIMES) == tuple(expected)


def test_a_home_with_its_own_pass_times_moves_slot_doses():
    home = {**DEFAULT_PASS_TIMES, "AM": time(7, 30), "EVENING": time(19)}
    assert scheduled_times("BID", home) == (time(7, 30), time(19))


def test_round_the_clock_frequencies_ignore_the_home_pass_times():
    home = {**DEFAULT_PASS_TIMES, "AM": time(7, 30)}
    assert scheduled_times("Q12H", home) == (time(8), time(20))


def test_custom_times_override_the_pass_times():
    assert scheduled_times("BID", DEFAULT_PASS_TIMES, [time(19), time(7)]) == (time(7), time(19))


def test_custom_times_must_match_the_number_of_doses_a_day():
    with pytest.raises(ValueError, match="BID .* is 2 dose.*3 time"):
        scheduled_times("BID", DEFAULT_PASS_TIMES, [time(7), time(13), time(19)])


def test_custom_times_must_not_repeat():
    with pytest.raises(ValueError, match="must not repeat"):
        scheduled_times("BID", DEFAULT_PASS_TIMES, [time(7), time(7)])


def test_a_prn_order_cannot_have_scheduled_times():
    with pytest.raises(ValueError, match="PRN"):
        scheduled_times("PRN", DEFAULT_PASS_TIMES, [time(8)])


def test_an_unknown_frequency_is_named_and_the_known_ones_listed():
    with pytest.raises(ValueError, match=r"unknown frequency 'Q3H'.*QD, QAM.*Q4H.*PRN"):
        scheduled_times("Q3H", DEFAULT_PASS_TIMES)


def test_a_slot_missing_from_the_home_pass_times_is_refused():
    home = {k: v for k, v in DEFAULT_PASS_TIMES.items() if k != "NOON"}
    with pytest.raises(ValueError, match="no NOON pass time"):
        scheduled_times("TID", home)


def test_pass_times_that_merge_two_doses_are_refused():
    home = {**DEFAULT_PASS_TIMES, "NOON": time(8)}
    with pytest.raises(ValueError, match="two TID doses at the same time"):
        scheduled_times("TID", home)


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("b.i.d.", "BID"),
        ("q 4 h", "Q4H"),
        ("every-other day", "EVERY OTHER DAY"),
        ("QOD", "EVERY OTHER DAY"),
        ("at bedtime", "QHS"),
        ("Q4H PRN", "PRN"),
    ],
)
def test_common_spellings_are_read(written, code):
    assert lookup_frequency(written).code == code


def test_the_table_documents_every_frequency():
    assert all(f.label for f in FREQUENCIES.values())


# --- doses on a day ----------------------------------------------------------------------------


def test_no_doses_before_the_start_date():
    assert doses_on(order(start=date(2025, 5, 15)), DAY) == []


def test_doses_on_the_start_date():
    assert doses_on(order(start=DAY), DAY) == [time(8), time(20)]


def test_doses_on_the_stop_date_which_is_inclusive():
    assert doses_on(order(stop=DAY), DAY) == [time(8), time(20)]


def test_no_doses_after_the_stop_date():
    assert doses_on(order(stop=date(2025, 5, 13)), DAY) == []


def test_weekly_order_is_given_on_its_weekday_only():
    weekly = order(frequency="WEEKLY", weekday=2)  # Wednesday
    assert doses_on(weekly, DAY) == [time(8)]
    assert doses_on(weekly, DAY + timedelta(days=1)) == []


def test_weekly_order_without_a_weekday_uses_the_start_date_weekday():
    weekly = order(frequency="WEEKLY", start=date(2025, 5, 12))  # a Monday
    assert doses_on(weekly, date(2025, 5, 19)) == [time(8)]
    assert doses_on(weekly, DAY) == []


def test_every_other_day_counts_from_the_start_date():
    qod = order(frequency="EVERY OTHER DAY", start=date(2025, 5, 13))
    assert doses_on(qod, date(2025, 5, 13)) == [time(8)]
    assert doses_on(qod, DAY) == []
    assert doses_on(qod, date(2025, 5, 15)) == [time(8)]


def test_a_prn_order_has_no_scheduled_doses():
    assert doses_on(order(frequency="BID", prn=True), DAY) == []


def test_a_weekday_on_a_daily_order_is_refused():
    with pytest.raises(ValueError, match="only for WEEKLY"):
        order(frequency="BID", weekday=1)


def test_a_scheduled_order_without_times_is_refused():
    with pytest.raises(ValueError, match="needs its times"):
        order(frequency="BID", times=())


# --- the pass list -----------------------------------------------------------------------------


def test_the_pass_takes_doses_within_the_window_only():
    orders = [
        order(1, frequency="QD"),  # 08:00
        order(2, frequency="Q8H"),  # 06:00 (out: 2 h before), 14:00, 22:00
        order(3, frequency="QD", times=[time(9)]),  # 09:00, the window's edge
    ]
    assert [(d.order_id, d.scheduled_at) for d in passing(orders)] == [
        (1, at(DAY, 8)),
        (3, at(DAY, 9)),
    ]


def test_scheduled_at_is_aware_in_the_home_zone():
    (dose,) = passing([order(frequency="QD")])
    assert dose.scheduled_at.tzinfo == NY
    assert dose.scheduled_at.utcoffset() == timedelta(hours=-4)


def test_the_pass_is_in_natural_room_order():
    rooms = ["10", "101B", "2", "101A"]
    people = [ResidentInfo(n, f"Resident {n}", room) for n, room in enumerate(rooms, 1)]
    orders = [order(n, resident_id=n, frequency="QD") for n in range(1, 5)]
    assert [d.room for d in passing(orders, residents=people)] == ["2", "10", "101A", "101B"]


def test_room_sort_key_puts_numbers_before_letters_and_no_room_last():
    assert sorted(["B2", "", "3", "A1"], key=room_sort_key) == ["3", "A1", "B2", ""]


def test_residents_sharing_a_room_are_sorted_by_name():
    people = [ResidentInfo(1, "Zoe Park", "5"), ResidentInfo(2, "Ann Lee", "5")]
    orders = [order(1, resident_id=1, frequency="QD"), order(2, resident_id=2, frequency="QD")]
    assert [d.resident_name for d in passing(orders, residents=people)] == ["Ann Lee", "Zoe Park"]


def test_one_residents_doses_are_sorted_by_time_then_drug():
    orders = [
        order(1, drug="Lisinopril", frequency="QD", times=[time(8, 30)]),
        order(2, drug="Metformin", frequency="QD"),
        order(3, drug="Aspirin", frequency="QD"),
    ]
    assert [d.drug for d in passing(orders)] == ["Aspirin", "Metformin", "Lisinopril"]


def test_orders_of_residents_not_listed_are_left_out():
    assert passing([order(resident_id=99, frequency="QD")]) == []


def test_prn_orders_are_not_on_the_pass():
    assert passing([order(frequency="PRN", times=())]) == []


def test_midnight_pass_takes_the_previous_evenings_late_doses():
    late = order(frequency="QD", times=[time(23, 30)])
    (dose,) = passing([late], center=time(0), now=at(DAY, 0))
    assert dose.scheduled_at == at(DAY - timedelta(days=1), 23, 30)


def test_a_dose_is_upcoming_before_its_window_opens():
    (dose,) = passing([order(frequency="QD")], now=at(DAY, 6, 59))
    assert dose.status is DoseStatus.UPCOMING


def test_a_dose_is_due_from_the_window_opening():
    (dose,) = passing([order(frequency="QD")], now=at(DAY, 7))
    assert dose.status is DoseStatus.DUE


def test_a_dose_is_still_due_at_the_window_closing():
    (dose,) = passing([order(frequency="QD")], now=at(DAY, 9))
    assert dose.status is DoseStatus.DUE


def test_a_dose_is_late_after_its_window_and_flagged_to_the_supervisor():
    (dose,) = passing([order(frequency="QD")], now=at(DAY, 9, 1))
    assert dose.status is DoseStatus.LATE
    assert dose.needs_supervisor


def test_a_recorded_dose_is_done_with_its_outcome():
    record = DoseRecordInfo(1, at(DAY, 8), "R", at(DAY, 8, 10))
    (dose,) = passing([order(frequency="QD")], records=[record], now=at(DAY, 10))
    assert (dose.status, dose.outcome, dose.recorded_at) == (DoseStatus.DONE, "R", at(DAY, 8, 10))


def test_a_record_stored_in_utc_matches_its_dose():
    record = DoseRecordInfo(1, datetime(2025, 5, 14, 12, tzinfo=UTC), "G", at(DAY, 8, 5))
    (dose,) = passing([order(frequency="QD")], records=[record])
    assert dose.status is DoseStatus.DONE


def test_the_latest_record_of_a_dose_wins():
    first = DoseRecordInfo(1, at(DAY, 8), "N", at(DAY, 8, 5))
    second = DoseRecordInfo(1, at(DAY, 8), "G", at(DAY, 8, 40))
    (dose,) = passing([order(frequency="QD")], records=[second, first])
    assert dose.outcome == "G"


def test_a_record_of_another_dose_does_not_count():
    yesterday = DoseRecordInfo(1, at(DAY - timedelta(days=1), 8), "G", at(DAY, 8, 5))
    (dose,) = passing([order(frequency="QD")], records=[yesterday])
    assert dose.status is DoseStatus.DUE


def test_a_dose_during_a_hospital_stay_is_away():
    stay = Absence(1, at(DAY - timedelta(days=2), 15), None)
    (dose,) = passing([order(frequency="QD")], absences=[stay])
    assert dose.status is DoseStatus.AWAY


def test_a_resident_back_before_the_dose_is_due():
    leave = Absence(1, at(DAY - timedelta(days=1), 10), at(DAY, 7, 45))
    (dose,) = passing([order(frequency="QD")], absences=[leave])
    assert dose.status is DoseStatus.DUE


def test_an_absence_starting_after_the_dose_does_not_suspend_it():
    leave = Absence(1, at(DAY, 8, 1), at(DAY, 18))
    (dose,) = passing([order(frequency="QD")], absences=[leave])
    assert dose.status is DoseStatus.DUE


def test_a_record_wins_over_an_absence():
    leave = Absence(1, at(DAY, 7), None)
    record = DoseRecordInfo(1, at(DAY, 8), "A", at(DAY, 8, 10))
    (dose,) = passing([order(frequency="QD")], absences=[leave], records=[record])
    assert (dose.status, dose.outcome) == (DoseStatus.DONE, "A")


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        passing([order(frequency="QD")], now=datetime(2025, 5, 14, 8))


def test_an_unknown_zone_is_refused():
    with pytest.raises(ValueError, match="unknown time zone"):
        pass_list(
            [],
            residents=[],
            day=DAY,
            center=time(8),
            now=at(DAY, 8),
            records=[],
            absences=[],
            zone="Mars/Olympus",
        )


def test_a_home_of_120_residents_with_10_orders_each():
    people = [ResidentInfo(n, f"Resident {n:03}", str(100 + n)) for n in range(1, 121)]
    orders = [
        order(n * 10 + k, resident_id=n, drug=f"Drug {k}", frequency=("BID", "TID", "QD")[k % 3])
        for n in range(1, 121)
        for k in range(10)
    ]
    doses = passing(orders, residents=people)
    assert len(doses) == 1200  # every one of them has an 08:00 dose
    assert doses[0].room == "101"
    assert doses[-1].room == "220"


# --- time zones and DST ------------------------------------------------------------------------


def test_spring_forward_shifts_a_0200_dose_to_0300_daylight_time():
    q4h = order(frequency="Q4H")
    (dose,) = passing([q4h], day=SPRING, center=time(3), now=at(SPRING, 3))
    assert dose.scheduled_at.replace(tzinfo=None) == datetime(2025, 3, 9, 3)
    assert dose.scheduled_at.utcoffset() == timedelta(hours=-4)


def test_spring_forward_keeps_four_real_hours_after_the_2200_dose():
    q4h = order(frequency="Q4H")
    (dose,) = passing([q4h], day=SPRING, center=time(3), now=at(SPRING, 3))
    evening = at(SPRING - timedelta(days=1), 22)
    # subtract in UTC: aware datetimes of one zone subtract by wall clock (5 h here)
    assert dose.scheduled_at.astimezone(UTC) - evening.astimezone(UTC) == timedelta(hours=4)


def test_spring_forward_gives_a_shifted_dose_that_meets_another_once():
    both = order(frequency="BID", times=[time(2), time(3)])
    doses = passing([both], day=SPRING, center=time(3), now=at(SPRING, 3))
    assert [d.scheduled_at.hour for d in doses] == [3]


def test_fall_back_gives_a_repeated_time_once_at_its_first_occurrence():
    night = order(frequency="QD", times=[time(1, 30)])
    (dose,) = passing([night], day=FALL, center=time(1), now=at(FALL, 1))
    assert dose.scheduled_at.utcoffset() == timedelta(hours=-4)  # daylight time, first 01:30


def test_fall_back_orders_doses_by_real_time_in_the_repeated_hour():
    first = order(1, drug="B", frequency="QD", times=[time(1, 45)])  # 01:45 daylight time
    second = order(2, drug="A", frequency="QD", times=[time(1, 15, fold=1)])  # 01:15 standard
    doses = passing([first, second], day=FALL, center=time(1, 30), now=at(FALL, 1))
    assert [d.order_id for d in doses] == [1, 2]


def test_doses_at_gives_the_instants_a_record_must_match():
    q4h = order(frequency="Q4H")
    assert [d.hour for d in doses_at(q4h, SPRING, ZONE)] == [3, 6, 10, 14, 18, 22]
    assert doses_at(q4h, SPRING, ZONE)[0] == datetime(2025, 3, 9, 7, tzinfo=UTC)


def test_after_fall_back_the_morning_pass_is_on_standard_time():
    (dose,) = passing([order(frequency="QD")], day=FALL, now=at(FALL, 8))
    assert dose.scheduled_at.utcoffset() == timedelta(hours=-5)
    assert dose.scheduled_at.hour == 8


# --- missed doses ------------------------------------------------------------------------------


def missed(orders, *, since, now, **kwargs):
    return missed_doses(
        orders,
        kwargs.pop("residents", (ALICE,)),
        kwargs.pop("records", ()),
        kwargs.pop("absences", ()),
        since=since,
        now=now,
        zone=ZONE,
        **kwargs,
    )


def test_missed_doses_are_the_unrecorded_ones_whose_window_closed():
    doses = missed([order(frequency="TID")], since=at(DAY, 0), now=at(DAY, 12, 30))
    assert [(d.scheduled_at.hour, d.status) for d in doses] == [(8, DoseStatus.LATE)]


def test_a_dose_whose_window_closes_exactly_now_is_not_yet_missed():
    assert missed([order(frequency="QD")], since=at(DAY, 0), now=at(DAY, 9)) == []


def test_a_recorded_dose_is_not_missed():
    record = DoseRecordInfo(1, at(DAY, 8), "H", at(DAY, 8, 20))
    assert (
        missed([order(frequency="QD")], since=at(DAY, 0), now=at(DAY, 12), records=[record]) == []
    )


def test_a_dose_while_away_is_not_missed():
    leave = Absence(1, at(DAY, 7), at(DAY, 11))
    assert (
        missed([order(frequency="QD")], since=at(DAY, 0), now=at(DAY, 12), absences=[leave]) == []
    )


def test_missed_doses_span_days_in_time_order():
    doses = missed([order(frequency="BID")], since=at(DAY - timedelta(days=1), 12), now=at(DAY, 12))
    assert [d.scheduled_at for d in doses] == [at(DAY - timedelta(days=1), 20), at(DAY, 8)]


def test_missed_doses_start_at_since():
    assert missed([order(frequency="QD")], since=at(DAY, 8, 1), now=at(DAY, 23)) == []


def test_missed_dose_on_spring_forward_is_reported_at_its_shifted_time():
    doses = missed([order(frequency="Q4H")], since=at(SPRING, 0), now=at(SPRING, 5))
    assert [d.scheduled_at.hour for d in doses] == [3]


# --- outcomes ----------------------------------------------------------------------------------


def test_the_mar_legend_has_the_recorded_outcomes():
    assert set(OUTCOMES) == {"G", "R", "H", "A", "N", "L"}


def test_a_record_without_an_outcome_is_refused():
    with pytest.raises(ValueError, match="needs its outcome"):
        DoseRecordInfo(1, at(DAY, 8), " ", at(DAY, 8))


def test_a_records_outcome_is_passed_through_as_recorded():
    record = DoseRecordInfo(1, at(DAY, 8), "refused", at(DAY, 8, 10))
    (dose,) = passing([order(frequency="QD")], records=[record])
    assert dose.outcome == "refused"


def test_a_dose_given_inside_its_window_is_given():
    assert given_outcome(at(DAY, 8), at(DAY, 9)) == "G"


def test_a_dose_given_after_its_window_is_late():
    assert given_outcome(at(DAY, 8), at(DAY, 9, 1)) == "L"


# --- hold parameters ---------------------------------------------------------------------------

PULSE_60 = HoldRule("pulse", "<", Decimal("60"))
SBP_100 = HoldRule("systolic", "<", Decimal("100"))


def test_a_pulse_under_the_limit_holds_the_dose():
    check = check_holds([PULSE_60, SBP_100], {"pulse": Decimal("52"), "systolic": Decimal("118")})
    assert check.hold
    assert check.triggered == ((PULSE_60, Decimal("52")),)
    assert check.message == "hold: pulse 52 is under 60"


def test_a_pulse_at_the_limit_does_not_hold_a_strict_rule():
    check = check_holds([PULSE_60], {"pulse": Decimal("60")})
    assert check.may_give
    assert check.message == ""


def test_an_at_or_under_rule_holds_at_the_limit():
    rule = HoldRule("glucose", "<=", Decimal("70"))
    assert (
        check_holds([rule], {"glucose": Decimal("70")}).message
        == "hold: glucose 70 is at or under 70"
    )


def test_an_over_rule_holds_above_the_limit():
    rule = HoldRule("temperature", ">", Decimal("100.4"))
    assert check_holds([rule], {"temperature": Decimal("101.2")}).message == (
        "hold: temperature 101.2 is over 100.4"
    )


def test_a_missing_vital_is_required_before_giving():
    check = check_holds([PULSE_60, SBP_100], {"pulse": Decimal("72")})
    assert check.required_vitals == ("systolic",)
    assert not check.may_give and not check.hold
    assert check.message == "take systolic before giving (hold if pulse < 60 or systolic < 100)"


def test_every_rule_met_is_in_the_message():
    check = check_holds([PULSE_60, SBP_100], {"pulse": Decimal("52"), "systolic": Decimal("94")})
    assert check.message == "hold: pulse 52 is under 60; systolic 94 is under 100"


def test_vitals_may_be_keyed_by_alias():
    assert check_holds([SBP_100], {"SBP": Decimal("94")}).hold


def test_no_rules_means_the_dose_may_be_given():
    assert check_holds([], {}).may_give


def test_parse_the_sentence_form():
    assert parse_hold("Hold if pulse < 60 or systolic < 100") == [PULSE_60, SBP_100]


def test_parse_the_short_form_with_aliases():
    assert parse_hold("pulse<60; sbp<100") == [PULSE_60, SBP_100]


def test_parse_words_and_units():
    assert parse_hold("hold for HR less than 60 bpm, SBP below 100 mmHg") == [PULSE_60, SBP_100]


def test_parse_bp_with_both_numbers_as_systolic_and_diastolic():
    assert parse_hold("hold if BP < 100/60") == [
        SBP_100,
        HoldRule("diastolic", "<", Decimal("60")),
    ]


def test_parse_bp_alone_as_systolic():
    assert parse_hold("hold if bp < 100") == [SBP_100]


def test_parse_dbp_and_at_or_over():
    assert parse_hold("DBP >= 110") == [HoldRule("diastolic", ">=", Decimal("110"))]


def test_parse_sentences_and_decimals():
    assert parse_hold("Hold if temp > 100.4 F. Hold if RR < 12.") == [
        HoldRule("temperature", ">", Decimal("100.4")),
        HoldRule("respirations", "<", Decimal("12")),
    ]


def test_parse_nothing_is_no_rules():
    assert parse_hold("  ") == []


def test_hold_text_is_read_back_by_parse_hold():
    rules = [PULSE_60, SBP_100, HoldRule("glucose", "<=", Decimal("70"))]
    assert parse_hold(hold_text(rules)) == rules


def test_parse_names_the_part_it_cannot_read():
    with pytest.raises(ValueError, match="cannot read 'systolic low'"):
        parse_hold("hold if pulse < 60 or systolic low")


def test_parse_names_an_unknown_vital():
    with pytest.raises(ValueError, match="'weight' is not a vital"):
        parse_hold("weight > 300")


def test_parse_refuses_and_as_ambiguous():
    with pytest.raises(ValueError, match="'and' is ambiguous"):
        parse_hold("hold if pulse < 60 and sbp < 100")


def test_parse_refuses_an_implausible_limit():
    with pytest.raises(ValueError, match="38 is not a plausible temperature limit"):
        parse_hold("temp > 38")


def test_parse_refuses_a_unit_of_another_vital():
    with pytest.raises(ValueError, match="mg/dl is not a unit of pulse"):
        parse_hold("pulse < 60 mg/dL")


def test_a_rule_on_an_unknown_vital_is_refused():
    with pytest.raises(ValueError, match="not a vital"):
        HoldRule("weight", "<", Decimal("50"))


# --- PRN ---------------------------------------------------------------------------------------


def prn(previous, when, *, interval=timedelta(hours=4), most=None):
    return prn_check(min_interval=interval, max_per_day=most, previous=previous, at=when, zone=ZONE)


def test_a_prn_too_soon_is_refused_with_the_next_time():
    check = prn([at(DAY, 10, 5)], at(DAY, 12))
    assert not check.allowed
    assert check.reason == "too soon: last dose 10:05, next allowed 14:05"
    assert check.next_allowed_at == at(DAY, 14, 5)


def test_a_prn_exactly_the_interval_later_is_allowed():
    check = prn([at(DAY, 10, 5)], at(DAY, 14, 5))
    assert check.allowed
    assert check.next_allowed_at is None
    assert check.reason == "allowed: last dose 10:05"


def test_a_first_prn_dose_is_allowed():
    assert (
        prn([], at(DAY, 9), most=4).reason
        == "allowed: dose 1 of at most 4 in 24 hours; no earlier dose"
    )


def test_the_maximum_counts_any_24_hours_not_the_calendar_day():
    yesterday = DAY - timedelta(days=1)
    previous = [at(yesterday, 14), at(yesterday, 18), at(yesterday, 22), at(DAY, 2)]
    check = prn(previous, at(DAY, 6), most=4)
    assert not check.allowed
    assert check.reason == (
        "maximum reached: 4 doses in 24 hours (14:00 yesterday, 18:00 yesterday, "
        "22:00 yesterday, 02:00), next allowed 14:00"
    )
    assert check.next_allowed_at == at(DAY, 14)


def test_the_maximum_allows_a_dose_once_the_oldest_is_24_hours_old():
    previous = [at(DAY, 8), at(DAY, 12), at(DAY, 16), at(DAY, 20)]
    check = prn(previous, at(DAY + timedelta(days=1), 8), most=4)
    assert check.allowed


def test_too_soon_and_over_the_maximum_are_both_told():
    previous = [at(DAY, 8), at(DAY, 12), at(DAY, 16), at(DAY, 20)]
    check = prn(previous, at(DAY, 22), most=4)
    assert check.reason == (
        "too soon: last dose 20:00; maximum reached: 4 doses in 24 hours "
        "(08:00, 12:00, 16:00, 20:00), next allowed 08:00 tomorrow"
    )
    assert check.next_allowed_at == at(DAY + timedelta(days=1), 8)


def test_a_dose_charted_later_also_counts():
    check = prn([at(DAY, 11)], at(DAY, 9))
    assert check.reason == "too soon: a dose is charted at 11:00, next allowed 15:00"


def test_a_prn_without_limits_is_allowed():
    check = prn_check(
        min_interval=None, max_per_day=None, previous=[at(DAY, 8)], at=at(DAY, 8, 5), zone=ZONE
    )
    assert check.allowed


def test_prn_next_allowed_crosses_spring_forward_in_real_hours():
    check = prn([at(SPRING, 0, 30)], at(SPRING, 1), interval=timedelta(hours=4))
    assert check.next_allowed_at == datetime(2025, 3, 9, 9, 30, tzinfo=UTC)  # 05:30 EDT


def test_a_naive_prn_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        prn([], datetime(2025, 5, 14, 9))


def test_effectiveness_check_is_due_an_hour_after_by_default():
    assert effectiveness_due(at(DAY, 10, 5)) == at(DAY, 11, 5)


def test_effectiveness_check_after_30_minutes():
    assert effectiveness_due(at(DAY, 10, 5), minutes=30) == at(DAY, 10, 35)


def test_effectiveness_check_counts_real_minutes_across_spring_forward():
    due = effectiveness_due(at(SPRING, 1, 30), minutes=60)
    assert (due.hour, due.minute, due.utcoffset()) == (3, 30, timedelta(hours=-4))


def test_effectiveness_check_must_come_after_the_dose():
    with pytest.raises(ValueError, match="after the dose"):
        effectiveness_due(at(DAY, 10), minutes=0)
