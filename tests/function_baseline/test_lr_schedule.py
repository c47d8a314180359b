import argparse

import pytest

from function_baseline.lr_schedule import (lr_at_epoch, posenet_lr, posenet_trains, total_epochs,
                                           video_gan_lr_at_epoch)


def _args(mode="multi", method="GAN", epochs=50, warmup=20, single=4, extra=60, lr_p=1e-3,
          from_first_train=False):
    """The README video command's schedule flags (single-frame defaults where mode='single')."""
    return argparse.Namespace(single_or_multi_train_mode=mode, data_enhancement_method=method,
                              epochs=epochs, warmup=warmup, single_dis_warmup_epoch=single,
                              additional_train_epoch=extra, lr_p=lr_p, additional_LR_decay=0.95,
                              lr_schedule_from_first_train=from_first_train)


@pytest.mark.parametrize("epoch, expected", [
    (0, 1e-4), (1, 1e-4 * 50 / 51), (49, 1e-4 * 2 / 51), (50, 1e-4 / 51), (51, 1e-4 / 51 * 0.95),
])
def test_lr_values_for_50_epochs(epoch, expected):
    assert lr_at_epoch(epoch, 1e-4, 50, 0.95) == pytest.approx(expected, rel=1e-12)


def test_published_anchor_values():
    assert lr_at_epoch(3, 1e-4, 50, 0.95) == pytest.approx(9.41e-5, rel=1e-3)
    assert lr_at_epoch(50, 1e-4, 50, 0.95) == pytest.approx(1.96e-6, rel=1e-2)
    assert lr_at_epoch(109, 1e-4, 50, 0.95) == pytest.approx(9.5e-8, rel=2e-2)


@pytest.mark.parametrize("epoch, expected, rel", [
    (25, 1e-3, 1e-12), (26, 1e-3 * 50 / 51, 1e-12), (74, 3.92e-5, 1e-3),
    (75, 1e-3 * 2 / 51 * 0.95, 1e-12), (133, 1.9e-6, 2e-2)])
def test_video_gan_lr_at_readme_values(epoch, expected, rel):
    assert video_gan_lr_at_epoch(epoch, 1e-3, 50, 20, 4, 0.95) == pytest.approx(expected, rel=rel)
    assert posenet_lr(epoch, _args()) == pytest.approx(expected, rel=rel)


def test_video_gan_schedule_epochs_and_training_epochs():
    args = _args()
    assert total_epochs(args) == 134
    trained = [e for e in range(total_epochs(args)) if posenet_trains(e, args)]
    assert trained == list(range(25, 134))
    # 49 linear steps between the first pose-net epoch and the end of the decay (25 -> 74).
    assert posenet_lr(74, args) == pytest.approx(1e-3 * (1 - 49 / 51), rel=1e-12)
    assert posenet_lr(0, args) == 1e-3                      # GAN-only epochs report lr_p


@pytest.mark.parametrize("method", ["normal", "NO_enhance"])
def test_video_baselines_train_every_epoch_with_the_plain_decay(method):
    args = _args(method=method)
    assert total_epochs(args) == 134
    assert all(posenet_trains(e, args) for e in range(134))
    for e in (0, 30, 50, 51, 133):
        assert posenet_lr(e, args) == lr_at_epoch(e, 1e-3, 50, 0.95)


def test_single_frame_schedule():
    args = _args(mode="single", warmup=2, lr_p=1e-4)
    assert total_epochs(args) == 110
    assert [e for e in range(5) if posenet_trains(e, args)] == [3, 4]
    assert posenet_trains(0, _args(mode="single", method="NO_enhance"))
    assert posenet_lr(3, args) == lr_at_epoch(3, 1e-4, 50, 0.95)


def test_acceptance_run_trains_the_lifter_in_its_third_epoch():
    args = _args(epochs=2, warmup=0, single=1, extra=0)
    assert total_epochs(args) == 3
    assert [posenet_trains(e, args) for e in range(3)] == [False, False, True]
    assert posenet_lr(2, args) == 1e-3


def test_lr_schedule_from_first_train_starts_the_decay_with_the_lifter():
    # single-frame GAN, --warmup 2: the lifter first trains in epoch 3; counted from there the
    # linear decay runs over --epochs - 3 epochs: lr_p at epoch 3, lr_p / (E - 3 + 1) at epoch E
    args = _args(mode="single", warmup=2, epochs=10, extra=2, from_first_train=True)
    assert not posenet_trains(2, args) and posenet_trains(3, args)
    assert posenet_lr(3, args) == pytest.approx(1e-3)
    assert posenet_lr(4, args) == pytest.approx(1e-3 * (1 - 1 / 8))
    assert posenet_lr(10, args) == pytest.approx(1e-3 / 8)
    assert posenet_lr(11, args) == pytest.approx(1e-3 / 8 * 0.95)
    # the original's schedule had already decayed to lr_p * (1 - 3/11) when the lifter started
    assert posenet_lr(3, _args(mode="single", warmup=2, epochs=10)) == pytest.approx(1e-3 * 8 / 11)
    # other methods train from epoch 0, so the flag changes nothing for them
    plain = _args(mode="single", method="NO_enhance", epochs=10)
    same = _args(mode="single", method="NO_enhance", epochs=10, from_first_train=True)
    assert [posenet_lr(e, plain) for e in range(12)] == [posenet_lr(e, same) for e in range(12)]


def test_pretraining_epochs_never_train_the_pose_net():
    args = _args(mode="single", warmup=0, epochs=4, extra=0)
    assert [posenet_trains(e, args) for e in (-3, -1, 0, 1)] == [False, False, False, True]

