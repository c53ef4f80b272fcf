from xtremedistil_ner.report import choice_reason
from xtremedistil_ner.results import StageResult


def _stage(metric, curve, best_step):
    return StageResult("s", "gold", ("all",), 20, 1.0, 1.0, dev_curve=curve, best_step=best_step, metric=metric)


def test_reason_names_the_metric_direction_and_every_dev_point():
    text = choice_reason(_stage("dev_macro_f1", [(0, 0.5), (10, 0.6), (20, 0.55)], 10))
    assert text == "highest dev_macro_f1 of 3 dev points (0.5000@0, 0.6000@10, 0.5500@20)"
    text = choice_reason(_stage("dev_hidden_mse", [(5, 0.2), (10, 0.1)], 10))
    assert text.startswith("lowest dev_hidden_mse of 2 dev points")


def test_reason_when_the_stage_start_stays_best():
    text = choice_reason(_stage("dev_macro_f1", [(0, 0.7), (10, 0.6)], 0))
    assert "no dev point beat the stage's start" in text
