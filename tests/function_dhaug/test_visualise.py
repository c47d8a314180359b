import torch

from function_dhaug.visualise import (angle_histogram_figure, figure_to_array, pose_grid_figure,
                                      write_figure)
from tests.conftest import RecordingWriter


def test_pose_grid_and_histograms_are_written_as_png(tmp_path):
    gen = torch.Generator().manual_seed(0)
    p3 = torch.randn(2, 16, 3, generator=gen) * 0.3
    p2 = torch.rand(2, 16, 2, generator=gen) * 2 - 1
    writer = RecordingWriter()
    grid = write_figure(pose_grid_figure(p3, p2, p3, p2), tmp_path / "a" / "grid.png", writer,
                        "poses", 3)
    values = torch.rand(50, 4, generator=gen) * 360 - 180
    ranges = torch.tensor([[-10.0, 10.0]] * 4)
    hist = write_figure(angle_histogram_figure(values, ["a", "b", "c", "d"], ranges),
                        tmp_path / "hist.png")
    for path in (grid, hist):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [(t, s, d) for t, s, _, d in writer.images] == [("poses", 3, "HWC")]
    assert writer.images[0][2][2] == 3


def test_figure_to_array_is_rgb_uint8():
    arr = figure_to_array(angle_histogram_figure(torch.zeros(3, 1), ["x"]))
    assert arr.dtype.name == "uint8" and arr.ndim == 3 and arr.shape[2] == 3
    assert arr.min() < arr.max()     # something was drawn
