"""Task metrics against values computed by hand (numbers in the comments)."""

from __future__ import annotations

import math

import pytest

from autopeft.tasks import get_task
from autopeft.tasks import metrics as m


def test_accuracy():
    assert m.accuracy([0, 1, 1, 0], [0, 1, 0, 0]) == 0.75


def test_binary_f1_of_positive_class():
    # tp=2 (rows 0, 3), fp=1 (row 1), fn=1 (row 4): 2*2 / (2*2 + 1 + 1) = 4/6
    assert m.f1([1, 1, 0, 1, 0], [1, 0, 0, 1, 1]) == pytest.approx(4 / 6)


def test_f1_without_positives_is_zero_not_nan():
    assert m.f1([0, 0], [0, 0]) == 0.0


def test_macro_f1_three_classes():
    # class 0: F1 1; class 1: tp1 fn1 -> 2/3; class 2: tp1 fp1 -> 2/3; mean 7/9
    assert m.macro_f1([0, 1, 2, 2], [0, 1, 1, 2]) == pytest.approx(7 / 9)


def test_matthews_binary():
    # tp=2 tn=1 fp=1 fn=1: (2*1 - 1*1) / sqrt(3*3*2*2) = 1/6
    assert m.matthews_correlation([1, 1, 0, 1, 0], [1, 0, 0, 1, 1]) == pytest.approx(1 / 6)


def test_matthews_perfect_inverse_and_constant():
    assert m.matthews_correlation([0, 1, 0, 1], [0, 1, 0, 1]) == pytest.approx(1.0)
    assert m.matthews_correlation([1, 0, 1, 0], [0, 1, 0, 1]) == pytest.approx(-1.0)
    assert m.matthews_correlation([1, 1, 1, 1], [0, 1, 0, 1]) == 0.0


def test_pearson():
    # x-mean = [-1.5,-.5,.5,1.5]; y-mean = [-3.125,-1.125,.875,3.375]; 10.75 / sqrt(5 * 23.1875)
    assert m.pearson([1, 2, 3, 4], [2, 4, 6, 8.5]) == pytest.approx(10.75 / math.sqrt(5 * 23.1875))
    assert m.pearson([1, 2, 3, 4], [2, 4, 6, 8.5]) == pytest.approx(0.998381, abs=1e-6)


def test_spearman_uses_ranks():
    # rank differences d = [0, 1, 1, 0]: 1 - 6 * 2 / (4 * 15) = 0.8
    assert m.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    # monotone but not linear: Spearman 1, Pearson < 1
    assert m.spearman([1, 2, 3, 4], [1, 10, 100, 1000]) == pytest.approx(1.0)
    assert m.pearson([1, 2, 3, 4], [1, 10, 100, 1000]) < 0.9


def test_correlation_of_constant_predictions_is_zero():
    assert m.pearson([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0
    assert m.spearman([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0


def test_length_mismatch_and_empty_raise():
    with pytest.raises(ValueError, match="3 values but references has 2"):
        m.accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        m.accuracy([], [])


def test_task_metrics_per_task():
    assert get_task("glue/cola").metric_names == ("matthews_correlation", "accuracy")
    assert get_task("glue/mrpc").main_metric == "f1"
    assert get_task("glue/qqp").metric_names == ("f1", "accuracy")
    assert get_task("glue/stsb").metric_names == ("pearson", "spearman")
    assert get_task("superglue/cb").metric_names == ("macro_f1", "accuracy")
    for name in ("glue/sst2", "glue/rte", "glue/mnli", "glue/qnli", "glue/wnli", "superglue/boolq", "superglue/copa", "superglue/wic"):
        assert get_task(name).metric_names == ("accuracy",)


def test_compute_metrics_takes_logits_or_indices():
    task = get_task("glue/mrpc")
    logits = [[2.0, -1.0], [0.1, 0.3], [-1.0, 1.0], [0.5, 0.4]]  # argmax 0, 1, 1, 0
    from_logits = task.compute_metrics(logits, [0, 1, 0, 0])
    from_indices = task.compute_metrics([0, 1, 1, 0], [0, 1, 0, 0])
    assert from_logits == from_indices
    assert from_indices == {"f1": pytest.approx(2 / 3), "accuracy": 0.75}


def test_compute_metrics_regression_flattens():
    task = get_task("glue/stsb")
    out = task.compute_metrics([[1.0], [2.0], [3.0], [4.0]], [1, 3, 2, 4])
    assert out["spearman"] == pytest.approx(0.8)
    assert out["pearson"] == pytest.approx(0.8)
