"""Worked cases for the immunization forecast (pure: no database)."""

from datetime import date

import pytest

from carebench.meds.forecast import Dose, Status, duration, forecast, load_schedule

AS_OF = date(2025, 10, 1)


def group(birth, key, history=(), as_of=AS_OF, flags=()):
    return forecast(birth_date=birth, as_of=as_of, history=history, flags=flags).get(key)


# --- a 2-month-old with nothing given -------------------------------------------------------

INFANT = date(2025, 8, 1)  # 2 months on 2025-10-01


def test_infant_at_two_months_is_due_dtap_dose_1_of_5():
    item = group(INFANT, "TDAP")
    assert item.status is Status.DUE
    assert (item.dose_number, item.doses_in_series) == (1, 5)
    assert item.earliest == date(2025, 9, 12)  # 6 weeks
    assert item.recommended == date(2025, 10, 1)  # 2 months


def test_infant_at_two_months_is_due_pcv_dose_1_of_4():
    item = group(INFANT, "PNEUMO")
    assert item.status is Status.DUE
    assert (item.dose_number, item.doses_in_series) == (1, 4)


def test_infant_who_missed_the_hepb_birth_dose_is_overdue():
    item = group(INFANT, "HepB")
    assert item.status is Status.OVERDUE
    assert item.dose_number == 1
    assert item.overdue_from == date(2025, 9, 1)


def test_infant_mmr_is_not_yet_due_until_12_months():
    item = group(INFANT, "MMR")
    assert item.status is Status.NOT_YET_DUE
    assert item.earliest == date(2026, 8, 1)


def test_infant_flu_is_not_yet_due_until_6_months():
    item = group(INFANT, "FLU")
    assert item.status is Status.NOT_YET_DUE
    assert item.earliest == date(2026, 2, 1)


# --- a 13-month-old behind ------------------------------------------------------------------

TODDLER = date(2024, 9, 1)
TODDLER_HISTORY = [("08", date(2024, 9, 1)), ("20", date(2024, 11, 1)), ("133", date(2024, 11, 1))]


def test_toddler_behind_is_overdue_for_dtap_dose_2_and_may_have_it_now():
    item = group(TODDLER, "TDAP", TODDLER_HISTORY)
    assert item.status is Status.OVERDUE
    assert item.dose_number == 2
    assert item.earliest <= AS_OF


def test_toddler_behind_is_due_mmr_varicella_and_hepa_at_12_months():
    statuses = {key: group(TODDLER, key, TODDLER_HISTORY).status for key in ("MMR", "VZV", "HepA")}
    assert statuses == {"MMR": Status.DUE, "VZV": Status.DUE, "HepA": Status.DUE}


def test_catch_up_dose_is_recommended_at_the_minimum_interval():
    # Dose 2 given at 13 months: dose 3 comes 4 weeks later, not at the routine 6 months.
    history = [*TODDLER_HISTORY, ("20", AS_OF)]
    item = group(TODDLER, "TDAP", history, as_of=date(2025, 10, 15))
    assert item.dose_number == 3
    assert item.recommended == date(2025, 10, 29)
    assert item.status is Status.NOT_YET_DUE


# --- HPV: 2 doses if started at 9-14, 3 if started at 15 or older -------------------------------


def test_hpv_started_at_12_is_a_two_dose_series():
    item = group(date(2013, 6, 1), "HPV", [("165", AS_OF)])
    assert (item.dose_number, item.doses_in_series) == (2, 2)
    assert item.earliest == date(2026, 3, 1)  # 5 months
    assert item.recommended == date(2026, 4, 1)  # 6 months
    assert item.status is Status.NOT_YET_DUE


def test_hpv_at_16_with_nothing_given_is_a_three_dose_series():
    item = group(date(2009, 6, 1), "HPV")
    assert (item.dose_number, item.doses_in_series) == (1, 3)
    assert item.status is Status.OVERDUE


def test_hpv_is_not_recommended_by_age_from_27():
    assert group(date(1995, 6, 1), "HPV").status is Status.NOT_RECOMMENDED


def test_hpv_series_left_incomplete_ages_out_at_27():
    item = group(date(1997, 6, 1), "HPV", [("165", date(2010, 1, 1))])
    assert item.status is Status.NOT_RECOMMENDED


# --- adults ---------------------------------------------------------------------------------


def test_67_year_old_with_no_pcv_is_due_one_pcv20_or_pcv21_dose():
    item = group(date(1958, 5, 1), "PNEUMO")
    assert item.status is Status.DUE
    assert (item.dose_number, item.doses_in_series) == (1, 1)
    assert "PCV20 or PCV21" in item.reason


def test_adult_with_pcv20_is_complete():
    assert group(date(1958, 5, 1), "PNEUMO", [("216", date(2024, 1, 5))]).status is Status.COMPLETE


def test_adult_with_only_ppsv23_needs_a_clinician():
    item = group(date(1958, 5, 1), "PNEUMO", [("33", date(2020, 1, 5))])
    assert item.status is Status.REVIEW
    assert "PPSV23" in item.reason


def test_pneumococcal_is_not_recommended_by_age_at_30():
    assert group(date(1995, 5, 1), "PNEUMO").status is Status.NOT_RECOMMENDED


def test_rzv_dose_1_a_month_ago_dose_2_is_not_yet_due():
    item = group(date(1973, 3, 1), "ZOSTER", [("187", date(2025, 9, 1))])
    assert item.status is Status.NOT_YET_DUE
    assert item.dose_number == 2
    assert item.earliest == date(2025, 9, 29)  # 4 weeks minimum
    assert item.recommended == date(2025, 11, 1)  # 2 months


def test_rzv_dose_1_three_months_ago_dose_2_is_due():
    item = group(date(1973, 3, 1), "ZOSTER", [("187", date(2025, 7, 1))])
    assert item.status is Status.DUE
    assert item.overdue_from == date(2026, 1, 1)  # 6 months


def test_two_rzv_doses_complete_zoster():
    history = [("187", date(2025, 1, 1)), ("187", date(2025, 4, 1))]
    assert group(date(1973, 3, 1), "ZOSTER", history).status is Status.COMPLETE


def test_live_zoster_vaccine_does_not_count():
    item = group(date(1950, 3, 1), "ZOSTER", [("121", date(2012, 1, 1))])
    assert item.status is Status.DUE
    assert item.dose_number == 1
    assert "Zostavax" in item.reason


def test_zoster_is_not_yet_due_before_50():
    item = group(date(1980, 3, 1), "ZOSTER")
    assert item.status is Status.NOT_YET_DUE
    assert item.earliest == date(2030, 3, 1)


def test_td_11_years_ago_is_overdue():
    history = [("115", date(2005, 1, 1)), ("113", date(2014, 9, 1))]
    item = group(date(1980, 3, 1), "TDAP", history)
    assert item.status is Status.OVERDUE
    assert item.recommended == date(2024, 9, 1)


def test_tdap_5_years_ago_is_up_to_date_until_the_10_year_booster():
    item = group(date(1980, 3, 1), "TDAP", [("115", date(2020, 9, 1))])
    assert item.status is Status.UP_TO_DATE
    assert item.recommended == date(2030, 9, 1)


def test_adult_with_td_but_no_tdap_on_record_is_due_tdap_once():
    item = group(date(1980, 3, 1), "TDAP", [("113", date(2020, 9, 1))])
    assert item.status is Status.OVERDUE
    assert "Tdap" in item.reason


def test_child_with_complete_dtap_series_is_due_tdap_at_11():
    history = [("20", date(2014, 1, 1) + duration(age)) for age in ("2m", "4m", "6m", "15m", "4y")]
    assert group(date(2014, 1, 1), "TDAP", history, as_of=date(2025, 1, 2)).status is Status.DUE


def test_dtap_dose_5_is_not_needed_when_dose_4_was_given_at_4_years():
    history = [("20", date(2014, 1, 1) + duration(age)) for age in ("2m", "4m", "6m", "4y")]
    item = group(date(2014, 1, 1), "TDAP", history, as_of=date(2019, 1, 1))
    assert item.status is Status.NOT_YET_DUE  # the next one is the adolescent Tdap
    assert item.earliest == date(2025, 1, 1)


def test_mmr_adult_born_before_1957_is_presumed_immune():
    assert group(date(1950, 1, 1), "MMR").status is Status.COMPLETE


def test_mmr_adult_born_after_1957_without_a_dose_is_due_one_dose():
    item = group(date(1990, 1, 1), "MMR")
    assert item.status is Status.DUE
    assert item.doses_in_series == 1


def test_hepb_adult_19_to_59_gets_the_three_dose_series():
    item = group(date(1990, 1, 1), "HepB", [("43", date(2025, 9, 1))])
    assert (item.dose_number, item.doses_in_series) == (2, 3)
    assert item.recommended == date(2025, 10, 1)


def test_hepb_heplisav_is_sent_to_a_clinician():
    history = [("189", date(2025, 5, 1)), ("189", date(2025, 6, 1))]
    item = group(date(1990, 1, 1), "HepB", history)
    assert item.status is Status.REVIEW
    assert "Heplisav" in item.reason


def test_varicella_adult_needs_two_doses_4_weeks_apart():
    item = group(date(1995, 1, 1), "VZV", [("21", date(2025, 9, 1))])
    assert (item.dose_number, item.doses_in_series) == (2, 2)
    assert item.earliest == date(2025, 9, 29)


# --- influenza seasons ------------------------------------------------------------------------

ADULT = date(1980, 5, 5)


def test_flu_dose_last_october_is_up_to_date_on_june_30():
    item = group(ADULT, "FLU", [("150", date(2024, 10, 15))], as_of=date(2025, 6, 30))
    assert item.status is Status.UP_TO_DATE
    assert item.earliest == date(2025, 7, 1)


def test_flu_new_season_starts_july_1_and_is_recommended_from_september():
    item = group(ADULT, "FLU", [("150", date(2024, 10, 15))], as_of=date(2025, 7, 1))
    assert item.status is Status.NOT_YET_DUE
    assert (item.earliest, item.recommended) == (date(2025, 7, 1), date(2025, 9, 1))


def test_flu_is_due_in_september():
    assert group(ADULT, "FLU", as_of=date(2025, 9, 15)).status is Status.DUE


def test_flu_is_overdue_after_october():
    item = group(ADULT, "FLU", as_of=date(2025, 11, 15))
    assert item.status is Status.OVERDUE
    assert item.overdue_from == date(2025, 11, 1)


def test_flu_dose_given_july_1_counts_for_the_new_season():
    item = group(ADULT, "FLU", [("155", date(2025, 7, 1))], as_of=date(2025, 12, 1))
    assert item.status is Status.UP_TO_DATE


def test_child_first_flu_season_needs_two_doses_4_weeks_apart():
    item = group(date(2022, 3, 1), "FLU", [("150", date(2025, 9, 2))])
    assert (item.dose_number, item.doses_in_series) == (2, 2)
    assert item.earliest == date(2025, 9, 30)
    assert item.status is Status.DUE


def test_child_with_two_earlier_flu_doses_needs_one_this_season():
    history = [("150", date(2023, 10, 1)), ("150", date(2023, 11, 1))]
    item = group(date(2022, 3, 1), "FLU", history)
    assert item.doses_in_series == 1


def test_child_first_flu_season_dose_1_is_recommended_as_soon_as_available():
    item = group(date(2022, 3, 1), "FLU", as_of=date(2025, 7, 15))
    assert item.status is Status.DUE
    assert (item.dose_number, item.doses_in_series) == (1, 2)


# --- COVID-19 ---------------------------------------------------------------------------------


def test_covid_without_a_dose_this_season_needs_a_clinician():
    item = group(ADULT, "COVID-19", [("312", date(2024, 10, 1))])
    assert item.status is Status.REVIEW
    assert "changes every season" in item.reason


def test_covid_dose_this_season_is_up_to_date():
    assert group(ADULT, "COVID-19", [("312", date(2025, 9, 10))]).status is Status.UP_TO_DATE


# --- invalid doses, flags, history ------------------------------------------------------------


def test_dose_given_before_the_minimum_interval_does_not_count():
    # DTaP dose 2 only 2 weeks after dose 1 (minimum 4 weeks, 4-day grace).
    history = [("20", date(2025, 1, 1)), ("20", date(2025, 1, 15))]
    item = group(date(2024, 11, 1), "TDAP", history, as_of=date(2025, 2, 1))
    assert item.dose_number == 2
    assert item.invalid_doses == (date(2025, 1, 15),)
    assert "does not count" in item.reason
    assert item.earliest == date(2025, 1, 29)


def test_dose_within_the_4_day_grace_period_counts():
    history = [("20", date(2025, 1, 1)), ("20", date(2025, 1, 26))]  # 25 days: within grace
    item = group(date(2024, 11, 1), "TDAP", history, as_of=date(2025, 2, 1))
    assert item.dose_number == 3
    assert item.invalid_doses == ()


def test_mmr_before_the_first_birthday_does_not_count():
    item = group(date(2024, 9, 1), "MMR", [("03", date(2025, 6, 1))])
    assert item.dose_number == 1
    assert item.invalid_doses == (date(2025, 6, 1),)


def test_pregnancy_sends_mmr_to_a_clinician():
    item = group(date(1995, 3, 1), "MMR", flags=["pregnant"])
    assert item.status is Status.REVIEW
    assert "live vaccine" in item.reason


def test_immunocompromised_flag_sends_zoster_to_a_clinician_before_50():
    item = group(date(1990, 3, 1), "ZOSTER", flags=["immunocompromised"])
    assert item.status is Status.REVIEW


def test_flag_leaves_a_complete_series_complete():
    history = [("03", date(1996, 4, 1)), ("03", date(2000, 4, 1))]
    assert group(date(1995, 3, 1), "MMR", history, flags=["pregnant"]).status is Status.COMPLETE


def test_unknown_flag_is_refused():
    with pytest.raises(ValueError, match="flags"):
        forecast(birth_date=ADULT, as_of=AS_OF, flags=["smoker"])


def test_mmrv_counts_for_mmr_and_varicella():
    history = [("94", date(2025, 9, 1))]
    assert group(TODDLER, "MMR", history).dose_number == 2
    assert group(TODDLER, "VZV", history).dose_number == 2


def test_history_by_group_name_counts():
    assert group(TODDLER, "HepA", [Dose("hepa", date(2025, 9, 1))]).dose_number == 2


def test_history_entry_that_is_neither_cvx_nor_group_is_refused():
    with pytest.raises(ValueError, match="neither"):
        forecast(birth_date=ADULT, as_of=AS_OF, history=[("Shingrix", date(2025, 1, 1))])


def test_vaccines_not_forecast_come_back_separately():
    result = forecast(birth_date=TODDLER, as_of=AS_OF, history=[("48", date(2024, 11, 1))])
    assert [d.vaccine for d in result.not_forecast] == ["48"]


def test_doses_after_the_as_of_date_are_left_out():
    item = group(date(1973, 3, 1), "ZOSTER", [("187", date(2026, 1, 1))])
    assert item.dose_number == 1


def test_as_of_before_birth_is_refused():
    with pytest.raises(ValueError, match="as_of"):
        forecast(birth_date=AS_OF, as_of=date(2025, 1, 1))


def test_every_group_is_forecast_in_the_schedule_order():
    keys = [g.group for g in forecast(birth_date=ADULT, as_of=AS_OF).groups]
    assert keys == [g["key"] for g in load_schedule()["groups"]]
    assert set(keys) >= {"FLU", "TDAP", "HPV", "MMR", "VZV", "HepA", "HepB", "PNEUMO", "ZOSTER"}


def test_the_engine_imports_nothing_from_django():
    import ast
    from pathlib import Path

    import carebench.meds.forecast as module
    import carebench.terminology.cdc as cdc

    for path in (module.__file__, cdc.__file__):
        tree = ast.parse(Path(path).read_text())
        names = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        ]
        assert not [n for n in names if n and n.startswith("django")]
