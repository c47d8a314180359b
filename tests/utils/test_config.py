import pytest

from utils.config import parse_args, str2bool

README_SINGLE = ("--note posefk --posenet_name videopose --lr_p 1e-4 --checkpoint ./checkpoint/posefk "
                 "--keypoints gt --s1only False --GAN_whether_use_preAngle True --video_over_200mm False "
                 "--batch_size 1024 --data_enhancement_method GAN --additional_LR_decay 0.95 "
                 "--Gen_DenseDim 256 --Dis_DenseDim_3D 256 --Dis_DenseDim_2D 256").split()


def test_readme_single_frame_command_parses():
    args = parse_args(README_SINGLE)
    assert args.posenet_name == "videopose" and args.s1only is False
    assert args.Gen_DenseDim == 256 and args.batch_size == 1024
    assert args.df == 5 and args.max_norm is True and args.device == "auto"
    assert args.actions is None


def test_string_booleans_and_typos():
    assert str2bool("TRUE") is True and str2bool("false") is False
    with pytest.raises(SystemExit):
        parse_args(["--s1only", "Flase"])


def test_unknown_choice_fails_with_valid_choices(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--posenet_name", "foo"])
    err = capsys.readouterr().err
    assert "--posenet_name" in err and "videopose" in err and "gcn" in err


@pytest.mark.parametrize("argv, words", [
    (["--s1only", "True", "--s1s5only", "True"], "--s1only"),
    (["--GAN_OUTPUT_DIM", "36"], "--GAN_OUTPUT_DIM"),
    (["--resume", "a", "--evaluate", "b"], "--resume"),
    (["--pretrain", "True"], "--pretrain_path"),
    (["--architecture", "3,4"], "--architecture"),
    (["--data_enhancement_method", "gan"], "--data_enhancement_method"),
    (["--bone_len_scaler", "half"], "--bone_len_scaler"),
    (["--df", "0"], "--df"),
    (["--generator_whole_number", "0"], "--generator_whole_number"),
    (["--lr_p", "-1e-4"], "--lr_p"),
    (["--lr_g", "0"], "--lr_g"),
    (["--lr_d", "nan"], "--lr_d"),
    (["--dropout", "1.5"], "--dropout"),
    (["--stages", "-1"], "--stages"),
    (["--additional_LR_decay", "1.5"], "--additional_LR_decay"),
    (["--epochs", "-1"], "--epochs"),
])
def test_inconsistent_flags_are_refused(argv, words, capsys):
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert words in capsys.readouterr().err


def test_actions_become_a_list_and_no_max():
    args = parse_args(["--actions", "Walking, Sitting", "--no_max"])
    assert args.actions == ["Walking", "Sitting"] and args.max_norm is False
