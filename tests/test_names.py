import pytest

from topics.represent.names import distinct_names, fallback_name, name_key, term_name, term_name_alternatives


def test_name_key_ignores_the_id_and_case():
    assert name_key("3_Galaxy_star") == name_key("-1_galaxy_Star") == "galaxy_star"
    assert name_key("0_a_b") != name_key("0_a_c")


def test_a_smaller_topic_with_a_taken_name_shows_its_next_term():
    terms = {0: ["galaxy", "star", "disk", "halo", "merger"], 1: ["galaxy", "star", "disk", "halo", "cluster", "merger"]}
    names = [term_name(t, terms[t]) for t in (0, 1)]
    assert name_key(names[0]) == name_key(names[1])
    alternatives = [term_name_alternatives(t, terms[t], []) for t in (0, 1)]
    result = distinct_names([0, 1], names, [50, 20], alternatives)
    assert result == ["0_galaxy_star_disk_halo", "1_galaxy_star_disk_cluster"]


def test_the_larger_topic_keeps_its_name_whatever_its_id():
    result = distinct_names([-1, 0], ["-1_a_b", "0_A_B"], [10, 40], [["-1_a_c"], ["0_a_d"]])
    assert result == ["-1_a_c", "0_A_B"]


def test_a_short_name_is_extended_and_spare_terms_come_from_the_plain_list():
    alternatives = term_name_alternatives(2, ["vaccine"], ["Vaccine", "measles", "flu"])
    assert alternatives == ["2_vaccine_measles", "2_vaccine_flu"]


def test_an_alternative_never_takes_another_topics_name():
    # Topic 2's first alternative is topic 1's own name: it takes the next one.
    result = distinct_names([0, 1, 2], ["0_a_b", "1_a_c", "2_a_b"], [30, 20, 10], [[], [], ["2_a_c", "2_a_d"]])
    assert result == ["0_a_b", "1_a_c", "2_a_d"]


def test_without_alternatives_a_number_makes_the_name_distinct():
    names = [fallback_name(t, "🔥 🔥 🔥") for t in (4, 5, 6)]
    result = distinct_names([4, 5, 6], names, [9, 8, 7], [[], [], []])
    assert result == ["4_🔥 🔥 🔥", "5_🔥 🔥 🔥 (2)", "6_🔥 🔥 🔥 (3)"]
    assert len({name_key(n) for n in result}) == 3


def test_distinct_names_keeps_distinct_names_and_checks_lengths():
    assert distinct_names([0, 1], ["0_a", "1_b"], [2, 1], [[], []]) == ["0_a", "1_b"]
    with pytest.raises(ValueError, match="differ in length"):
        distinct_names([0, 1], ["0_a"], [2, 1], [[], []])
