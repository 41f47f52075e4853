"""Finding the destination the customer names, and the plans that work there."""

from __future__ import annotations

from decimal import Decimal

import pytest

from esim_tui.domain.destinations import GLOBAL, Region, all_countries, country, known_countries, region
from esim_tui.domain.money import Money
from esim_tui.domain.plans import ProviderName
from esim_tui.services.catalogue import Catalogue
from tests.store_helpers import sample_plan


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    """Every country (and Kosovo) with one plan of its own, a Europe plan for 2 countries, a global one."""
    plans = [sample_plan(plan_id=f"{d.code}-1", destination=d, coverage=(d.code,), price=Money(amount=Decimal("10"))) for d in known_countries()]
    plans.append(sample_plan(plan_id="eu-10", name="Europe 10 GB / 30 days", destination=region(Region.EUROPE), coverage=("FR", "DE"), price=Money(amount=Decimal("8")), provider=ProviderName.ESIMGO))
    plans.append(sample_plan(plan_id="gl-1", name="Global 1 GB / 7 days", destination=GLOBAL, coverage=(), price=Money(amount=Decimal("30"))))
    return Catalogue.build(plans)


def first(catalogue: Catalogue, typed: str) -> str:
    found = catalogue.search(typed)
    assert found, f"{typed!r} found nothing"
    return found[0].destination.code


ALIASES = [
    ("UK", "GB"), ("uk", "GB"), ("Britain", "GB"), ("Great Britain", "GB"), ("England", "GB"), ("Scotland", "GB"),
    ("Wales", "GB"), ("Holland", "NL"), ("Netherlands", "NL"), ("Turkey", "TR"), ("Türkiye", "TR"), ("turkiye", "TR"),
    ("Macau", "MO"), ("Macao", "MO"), ("Kosovo", "XK"), ("XK", "XK"), ("Ivory Coast", "CI"), ("Cote d'Ivoire", "CI"),
    ("cote d'ivoire", "CI"), ("Côte d'Ivoire", "CI"), ("Côte d’Ivoire", "CI"), ("Czechia", "CZ"), ("Czech Republic", "CZ"),
    ("South Korea", "KR"), ("Korea", "KR"), ("North Macedonia", "MK"), ("Macedonia", "MK"), ("Burma", "MM"),
    ("Myanmar", "MM"), ("Swaziland", "SZ"), ("Eswatini", "SZ"), ("Cape Verde", "CV"), ("Cabo Verde", "CV"),
    ("USA", "US"), ("America", "US"), ("United States", "US"), ("UAE", "AE"), ("Emirates", "AE"), ("Russia", "RU"),
    ("Vietnam", "VN"), ("Viet Nam", "VN"), ("Laos", "LA"), ("Bolivia", "BO"), ("Iran", "IR"), ("Syria", "SY"),
    ("Taiwan", "TW"), ("Vatican", "VA"), ("Holy See", "VA"),
]


@pytest.mark.parametrize(("typed", "code"), ALIASES)
def test_what_customers_call_a_country_finds_it_first(catalogue, typed, code):
    assert first(catalogue, typed) == code


@pytest.mark.parametrize(("typed", "code"), [("Jpan", "JP"), ("Itlay", "IT"), ("japn", "JP"), ("Grmany", "DE"), ("Swtizerland", "CH"), ("Untied Kingdom", "GB"), ("Hollnd", "NL"), ("Koria", "KR")])
def test_a_typo_finds_the_country_first(catalogue, typed, code):
    assert first(catalogue, typed) == code


def test_exact_then_prefix_then_word_then_typo(catalogue):
    names = [o.destination.name for o in catalogue.search("niger")]
    assert names[:2] == ["Niger", "Nigeria"]  # exact before prefix
    korea = [o.destination.code for o in catalogue.search("korea")]
    assert korea[:2] == ["KR", "KP"]  # the alias "Korea" before the word in "North Korea"
    # "iran" is Iran exactly; "Ireland" ("irland" is close) never comes before a name starting with the text
    assert [o.destination.code for o in catalogue.search("ira")][:2] == ["IR", "IQ"]
    # names shown starting with the text before an official name that does ("United Mexican States")
    assert [o.destination.code for o in catalogue.search("united")][:3] == ["AE", "GB", "US"]


def test_a_typo_never_outranks_a_real_prefix_match(catalogue):
    # "mali" is a country; "malta" and "malawi" are near it but come after every name starting with "mali"
    found = [o.destination.name for o in catalogue.search("mali")]
    assert found[0] == "Mali"
    starting = [n for n in found if n.casefold().startswith("mali")]
    assert found[: len(starting)] == starting
    jap = [o.destination.code for o in catalogue.search("jap")]
    assert jap == ["JP"]  # three letters: a prefix, and nothing merely close to it


def test_one_or_two_letters_find_no_typos(catalogue):
    # "jx" is near nothing by prefix or code; a typo-tolerant match would find "JO", "JP"...
    assert catalogue.search("jx") == []
    assert [o.destination.code for o in catalogue.search("jp")] == ["JP"]


def test_nonsense_finds_nothing(catalogue):
    assert catalogue.search("zzzz") == []
    assert catalogue.search("qwxv") == []


def test_a_country_offers_the_regional_and_global_plans_covering_it_sorted_by_price(catalogue):
    france = catalogue.offer("country:FR")
    assert [p.plan_id for p in france.plans] == ["eu-10", "FR-1", "gl-1"]  # 8, 10, 30: sorted in by price
    assert [france.is_wider(p) for p in france.plans] == [True, False, True]
    assert france.lowest_price.amount == Decimal("8")  # "From" is the cheapest plan that works there
    europe = catalogue.offer("region:Europe")
    assert france.plans[0] is europe.plans[0]  # the same Plan: it sells as from its region
    italy = catalogue.offer("country:IT")  # not in that Europe plan's coverage
    assert [p.plan_id for p in italy.plans] == ["IT-1", "gl-1"]
    line = catalogue.index.line("country:FR")
    assert (line.plan_count, line.own_plan_count, line.price_label) == (3, 1, "8.00 USD")


def test_the_catalogue_counts_each_plan_once(catalogue):
    assert catalogue.plan_count == len(known_countries()) + 2


def test_a_region_plan_that_names_no_countries_covers_its_region():
    plan = sample_plan(plan_id="eu", destination=region(Region.EUROPE), coverage=())
    built = Catalogue.build([plan])
    assert built.offer("country:FR").plans == (plan,)
    assert built.offer("country:XK").plans == (plan,)  # Kosovo is in Europe
    assert built.offer("country:JP") is None
    # a country with no plan of its own is listed when a regional plan covers it
    assert "France" in [o.destination.name for o in built.search("france")]


def test_kosovo_is_known_but_not_in_the_iso_list():
    assert country("XK").name == "Kosovo" and country("Kosovo").region is Region.EUROPE
    assert "XK" not in {d.code for d in all_countries()}
