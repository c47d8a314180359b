import torch

from function_dhaug.sampling import draw_alpha, draw_camera, draw_noise, draw_scale_factors
from utils.skeleton import NUM_SCALE_GROUPS


def test_camera_draw_is_one_row_of_the_table_uniformly():
    table = torch.arange(3 * 4 * 16, dtype=torch.float32).reshape(3, 4, 16)
    gen = torch.Generator().manual_seed(0)
    hits = torch.zeros(3, 4)
    for _ in range(1200):
        cam = draw_camera(table, gen)
        flat = int(cam[0]) // 16
        assert torch.equal(cam, table[flat // 4, flat % 4])
        hits[flat // 4, flat % 4] += 1
    assert hits.min() > 60          # 100 expected per cell


def test_draws_are_reproducible_and_shaped():
    a = torch.Generator().manual_seed(4)
    b = torch.Generator().manual_seed(4)
    cpu = torch.device("cpu")
    z = draw_noise(5, 7, a, cpu)
    assert z.shape == (5, 7) and torch.equal(z, draw_noise(5, 7, b, cpu))
    alpha = draw_alpha(1000, a, cpu, torch.float64)
    assert alpha.dtype == torch.float64 and alpha.min() >= 0 and alpha.max() < 1
    s = draw_scale_factors(100, "different", a, cpu)
    assert s.shape == (100, NUM_SCALE_GROUPS) and s.min() >= -0.2 and s.max() < 0.2
    assert (draw_scale_factors(10, "", a, cpu) == 0).all()
