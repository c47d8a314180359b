import pytest
import torch

from models.lifter_mlp import MLPLifter
from models.lifter_videopose import StridedTemporalLifter
from utils.acceleration import (AMP_MODES, autocast, autocast_forward_, compile_problem,
                                maybe_compile)
from utils.io import DataError

CPU = torch.device("cpu")


def test_amp_modes_and_autocast_dtypes():
    assert AMP_MODES == ("off", "bf16")
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    with autocast(CPU, "off"):
        assert (a @ b).dtype == torch.float32
    with autocast(CPU, "bf16"):
        assert (a @ b).dtype == torch.bfloat16
    assert (a @ b).dtype == torch.float32
    with pytest.raises(DataError, match="--amp: expected one of off, bf16, got 'fp16'"):
        autocast(CPU, "fp16")


def _grads(model):
    return torch.cat([p.grad.flatten() for p in model.parameters()])


def test_bf16_forward_and_backward_of_a_lifter_are_close_to_float32():
    # bf16 keeps 8 significant bits (relative step 2^-8 = 0.4 %). Stated tolerances: output
    # within 3 % of its scale, loss within 1 %; the gradient, which crosses train-mode batch
    # norms backwards (cancellations amplify rounding), within 15 % in norm (measured ~9 %)
    # and pointing the same way (cosine > 0.99).
    torch.manual_seed(0)
    model = StridedTemporalLifter((3, 3), channels=64, dropout=0.0).train()
    x, target = torch.randn(32, 9, 16, 2), torch.randn(32, 1, 16, 3)
    results = []
    for amp in AMP_MODES:
        model.zero_grad()
        with autocast(CPU, amp):
            out = model(x)
            loss = torch.nn.functional.mse_loss(out, target)
        loss.backward()
        results.append((out.float(), loss.item(), _grads(model), out.dtype))
    (out32, loss32, grad32, dtype32), (out16, loss16, grad16, dtype16) = results
    assert dtype32 == torch.float32 and dtype16 == torch.bfloat16
    assert (out16 - out32).abs().max() < 0.03 * out32.abs().max()
    assert abs(loss16 - loss32) < 0.01 * loss32
    assert (grad16 - grad32).norm() < 0.15 * grad32.norm()
    assert torch.nn.functional.cosine_similarity(grad16, grad32, dim=0) > 0.99
    assert all(p.dtype == torch.float32 and p.grad.dtype == torch.float32
               for p in model.parameters())


def test_autocast_forward_wraps_calls_and_returns_float32():
    torch.manual_seed(2)
    model = MLPLifter(width=32, stages=1).eval()
    x = torch.randn(4, 16, 2)
    keys = list(model.state_dict())
    with torch.no_grad():
        eager = model(x)
        assert autocast_forward_(model, CPU, "off") is model and "forward" not in vars(model)
        wrapped = autocast_forward_(model, CPU, "bf16")
        out = wrapped(x)
    assert wrapped is model and list(model.state_dict()) == keys
    assert out.dtype == torch.float32 and out.shape == eager.shape
    assert 0 < (out - eager).abs().max() < 0.03 * eager.abs().max()   # bf16 inside, close
    model.train()(x).square().mean().backward()
    assert all(p.grad.dtype == torch.float32 for p in model.parameters())
    with pytest.raises(DataError, match="--amp"):
        autocast_forward_(MLPLifter(width=8, stages=1), CPU, "fp8")


def test_disabled_compile_returns_the_module_untouched():
    model = MLPLifter(width=8, stages=1)
    assert maybe_compile(model, False) is model
    assert model._compiled_call_impl is None


def test_missing_cpp_compiler_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("CXX", raising=False)
    assert "C++ compiler" in compile_problem(CPU)
    with pytest.raises(DataError, match="--compile True: torch.compile on CPU needs a C\\+\\+"):
        maybe_compile(MLPLifter(width=8, stages=1), True, CPU)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")   # raised inside torch's compiler
def test_compiled_mlp_equals_eager_and_keeps_its_state_dict(monkeypatch):
    problem = compile_problem(CPU)
    if problem is not None:
        pytest.skip(problem)
    import torch._inductor.config as inductor_config
    monkeypatch.setattr(inductor_config, "compile_threads", 1)   # no worker pool for one graph
    torch.manual_seed(1)
    model = MLPLifter(width=16, stages=1).eval()
    x = torch.randn(8, 16, 2)
    with torch.no_grad():
        eager = model(x)
        keys = list(model.state_dict())
        compiled = maybe_compile(model, True, CPU)
        assert compiled is model and list(compiled.state_dict()) == keys
        out = compiled(x)
    torch._dynamo.reset()
    assert out.shape == (8, 16, 3)
    assert (out - eager).abs().max() < 1e-5
