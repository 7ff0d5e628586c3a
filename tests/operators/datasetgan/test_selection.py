"""Which generated pairs survive --drop-uncertain: the least uncertain within each generated class."""

from ganfactory.operators.datasetgan.generate import select_least_uncertain


def _entries(class_index, uncertainties, first_seed):
    return [{"id": f"{class_index}-{i}", "class_index": class_index, "uncertainty": u, "seed": first_seed + i}
            for i, u in enumerate(uncertainties)]


def test_the_drop_keeps_each_class_share_and_its_least_uncertain_pairs():
    easy = _entries(0, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 0)  # every pair of class 0 is surer than any of class 1
    hard = _entries(1, [0.9, 0.7, 0.8, 0.95], 100)
    kept = select_least_uncertain(easy + hard, keep=5)
    by_class = {c: sorted(e["uncertainty"] for e in kept if e["class_index"] == c) for c in (0, 1)}
    assert by_class == {0: [0.1, 0.2, 0.3], 1: [0.7, 0.8]}  # 6:4 of the candidates -> 3:2 of the kept


def test_an_unconditional_run_is_one_group_and_ties_break_by_seed():
    entries = _entries(None, [0.5, 0.2, 0.5, 0.5], 7)
    kept = select_least_uncertain(entries, keep=3)
    assert [e["seed"] for e in kept] == [8, 7, 9]
    assert len(select_least_uncertain(entries, keep=10)) == 4
