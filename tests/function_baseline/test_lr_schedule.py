import pytest

from function_baseline.lr_schedule import lr_at_epoch


@pytest.mark.parametrize("epoch, expected", [
    (0, 1e-4), (1, 1e-4 * 50 / 51), (49, 1e-4 * 2 / 51), (50, 1e-4 / 51), (51, 1e-4 / 51 * 0.95),
])
def test_lr_values_for_50_epochs(epoch, expected):
    assert lr_at_epoch(epoch, 1e-4, 50, 0.95) == pytest.approx(expected, rel=1e-12)


def test_published_anchor_values():
    assert lr_at_epoch(3, 1e-4, 50, 0.95) == pytest.approx(9.41e-5, rel=1e-3)
    assert lr_at_epoch(50, 1e-4, 50, 0.95) == pytest.approx(1.96e-6, rel=1e-2)
    assert lr_at_epoch(109, 1e-4, 50, 0.95) == pytest.approx(9.5e-8, rel=2e-2)
