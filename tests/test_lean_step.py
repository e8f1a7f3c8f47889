"""The lean training step (issue 27) computes what the step before it computed, bit for bit.

The references are the code paths the lean step replaced: ``torch.optim`` (SGD, RMSprop, Adam),
``torch.nn.utils.clip_grad_norm_``, ``weight_noise`` (clone, perturb, restore), the recording loop
``RecurrentLevel.loop`` (one ``cell.step`` call per step) and the ``torch.nn`` modules the fused levels stand for.
"""

from __future__ import annotations

import pytest
import torch

from rnnlab.data.batching import iterate_batches
from rnnlab.data.dataset import Dataset
from rnnlab.nets import build_model
from rnnlab.nets.fused import fused_forward
from rnnlab.nets.level import RecurrentLevel
from rnnlab.train.callbacks import Callback
from rnnlab.train.config import TrainConfig
from rnnlab.train.losses import token_losses
from rnnlab.train.optimizers import FlatParameters, make_optimizer, set_lr
from rnnlab.train.regularizers import flat_weight_noise, is_noisy, weight_noise
from rnnlab.train.seeding import seed_everything
from rnnlab.train.trainer import Trainer, _reset_state, build_model_for


def toy_music(seed=0, n=(10, 4, 4)) -> Dataset:
    """Random piano rolls of 88 keys and varied lengths (some shorter than a BPTT chunk, some longer)."""
    g = torch.Generator().manual_seed(seed)

    def pieces(k):
        return [(torch.rand(int(torch.randint(3, 40, (1,), generator=g)), 88, generator=g) < 0.1).float()
                for _ in range(k)]

    return Dataset(name="toy", source="test", kind="music", splits=dict(zip(("train", "valid", "test"),
                   (pieces(k) for k in n), strict=True)), n_in=88, n_out=88, loss="bernoulli", metric="nll")


def torch_optimizer(name, params, lr):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-6)
    return torch.optim.Adam(params, lr=lr)


def small_model(cell="gru", **kw):
    return build_model(cell=cell, n_in=6, n_out=6, hidden=5, **kw)


@pytest.mark.parametrize("name", ["sgd", "rmsprop", "adam"])
def test_the_flat_optimizers_and_clipping_repeat_torch_bit_for_bit(name):
    torch.manual_seed(0)
    ours, theirs = small_model(), small_model()
    theirs.load_state_dict(ours.state_dict())
    flat = FlatParameters(ours, noisy=is_noisy)
    params = list(theirs.parameters())
    opt_ours, opt_theirs = make_optimizer(name, flat.params, 0.05), torch_optimizer(name, params, 0.05)
    x = torch.randn(7, 3, 6)
    for step in range(6):
        flat.zero_grad()
        (ours(x)[0] ** 2).sum().backward()
        opt_theirs.zero_grad(set_to_none=True)
        (theirs(x)[0] ** 2).sum().backward()
        clip = 0.5 if step % 2 else None  # clipping, and the norm alone
        norm_ours = flat.clip_grad_norm(clip)
        norm_theirs = torch.nn.utils.clip_grad_norm_(params, clip if clip is not None else float("inf"))
        assert torch.equal(norm_ours, norm_theirs)
        set_lr(opt_ours, 0.05 / (step + 1))
        set_lr(opt_theirs, 0.05 / (step + 1))
        opt_ours.step()
        opt_theirs.step()
        for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
            assert torch.equal(a, b)
    # the state dicts are interchangeable: torch's loads into ours and ours into torch's, and they go on alike
    restored, again = make_optimizer(name, flat.params, 0.05), torch_optimizer(name, params, 0.05)
    restored.load_state_dict(opt_theirs.state_dict())
    again.load_state_dict(opt_ours.state_dict())
    assert str(restored.state_dict()) == str(opt_theirs.state_dict())
    assert str(again.state_dict()) == str(opt_ours.state_dict())


def test_parameters_and_gradients_live_in_the_flat_buffers():
    torch.manual_seed(0)
    model = small_model("lstm_peephole", arch="dts-rnn")
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    flat = FlatParameters(model, noisy=is_noisy)
    for name, param in model.named_parameters():
        assert torch.equal(param, before[name])  # the values survive the move
        assert param.untyped_storage().data_ptr() == flat.data.untyped_storage().data_ptr()
    (model(torch.randn(4, 2, 6))[0].sum()).backward()
    assert flat.grad.abs().sum() > 0
    assert sum(float(g.abs().sum()) for g in flat.grads) == pytest.approx(float(flat.grad.abs().sum()), rel=1e-6)
    end_of_noisy = flat.data.data_ptr() + flat.n_noisy * flat.data.element_size()
    for name, param in model.named_parameters():
        assert param.data_ptr() % 64 == 0  # aligned as a tensor of its own would be (matrix kernels care)
        assert (param.data_ptr() < end_of_noisy) == is_noisy(name, param)  # the weight matrices first, biases after


def test_flat_weight_noise_draws_the_same_noise_and_restores_the_exact_weights():
    torch.manual_seed(0)
    ours, theirs = small_model("tanh", arch="dts-rnn"), small_model("tanh", arch="dts-rnn")
    theirs.load_state_dict(ours.state_dict())
    flat = FlatParameters(ours, noisy=is_noisy)
    clean = {n: p.detach().clone() for n, p in ours.named_parameters()}
    x = torch.randn(5, 2, 6)
    torch.manual_seed(3)
    with flat_weight_noise(flat, 0.075):
        noisy_ours = {n: p.detach().clone() for n, p in ours.named_parameters()}
        flat.zero_grad()
        (ours(x)[0] ** 2).sum().backward()
    after_ours = torch.randn(3)  # the random stream continues where it would have
    torch.manual_seed(3)
    with weight_noise(theirs, 0.075):
        noisy_theirs = {n: p.detach().clone() for n, p in theirs.named_parameters()}
        (theirs(x)[0] ** 2).sum().backward()
    assert torch.equal(after_ours, torch.randn(3))
    for name, param in ours.named_parameters():
        assert torch.equal(noisy_ours[name], noisy_theirs[name])
        assert torch.equal(param, clean[name])
        assert torch.equal(param.grad, dict(theirs.named_parameters())[name].grad)
        assert torch.equal(noisy_ours[name], clean[name]) == (not is_noisy(name, param))


@pytest.mark.parametrize("cell,options", [("tanh", {"nonlinearity": "sigmoid"}), ("tanh", {"nonlinearity": "lp"}),
                                          ("gru", {}), ("lstm", {}), ("lstm_peephole", {})])
@pytest.mark.parametrize("depth,shortcut", [(1, False), (2, False), (2, True), (3, True)])
def test_the_tight_loop_computes_the_recording_loops_floats(cell, options, depth, shortcut):
    torch.manual_seed(0)
    level = RecurrentLevel(cell, 6, 5, depth=depth, shortcut=shortcut, cell_options=options,
                           intermediate_options=options)
    x = torch.randn(9, 3, 6)
    state = tuple(torch.randn(3, 5) for _ in level.state_names)
    results = []
    for run in (lambda: level.run(x, state), lambda: level.loop(x, state)):
        level.zero_grad(set_to_none=True)
        out, final = run()
        (out.square().sum() + sum(s.sum() for s in final)).backward()
        results.append((out, final, [p.grad.clone() for p in level.parameters()]))
    (out_a, final_a, grads_a), (out_b, final_b, grads_b) = results
    assert torch.equal(out_a, out_b)
    assert all(torch.equal(a, b) for a, b in zip(final_a, final_b, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(grads_a, grads_b, strict=True))


@pytest.mark.parametrize("cell,module", [("tanh", torch.nn.RNN), ("lstm", torch.nn.LSTM), ("gru_v1", torch.nn.GRU)])
def test_the_fused_path_is_the_torch_module(cell, module):
    torch.manual_seed(0)
    level = RecurrentLevel(cell, 6, 5)
    reference = module(6, 5)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference, name + "_l0").copy_(getattr(level.cells[0], name))
    x = torch.randn(8, 3, 6)
    state = tuple(torch.randn(3, 5) for _ in level.state_names)
    out, final = fused_forward(level.cells[0], x, state)
    hx = tuple(s.unsqueeze(0) for s in state)
    expected, expected_final = reference(x, hx if len(hx) > 1 else hx[0])
    expected_final = expected_final if isinstance(expected_final, tuple) else (expected_final,)
    assert torch.equal(out, expected)
    assert all(torch.equal(a, b.squeeze(0)) for a, b in zip(final, expected_final, strict=True))


def old_training_step_rows(config: TrainConfig, ds, epochs: int) -> tuple[list, dict]:
    """The training loop as it was before issue 27: torch.optim, clip_grad_norm_, weight_noise, the recording
    loop (record=True runs ``RecurrentLevel.loop``). Returns (loss, grad norm) per update and the final weights."""
    seed_everything(config.seed)
    model = build_model_for(config, ds)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch_optimizer(config.optimizer, params, config.lr)
    rows = []
    for epoch in range(epochs):
        model.train()
        state = None
        for index, batch in enumerate(iterate_batches(ds, "train", batch_size=config.batch_size, bptt=config.bptt,
                                                      shuffle=True, seed=config.seed * 100_003 + epoch)):
            if index >= config.max_updates_per_epoch:
                break
            state = _reset_state(state, batch.reset, batch.x.shape[1])
            with weight_noise(model, config.weight_noise):
                logits, state, _ = model(batch.x, state, record=True)
                losses = token_losses(logits, batch.y, ds.loss)
                loss = (losses * batch.mask).sum() / batch.mask.sum().clamp(min=1)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            norm = float(torch.nn.utils.clip_grad_norm_(params, config.clip))
            optimizer.step()
            rows.append((loss.item(), norm))
    return rows, {n: p.detach().clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("knobs", [
    dict(arch="rnn", cell="tanh", nonlinearity="sigmoid", optimizer="sgd", lr=1.0, batch_size=1, bptt=10,
         init="pascanu"),
    dict(arch="dts-rnn", cell="tanh", nonlinearity="sigmoid", optimizer="sgd", lr=1.0, batch_size=1, bptt=10,
         transition_hidden=7),
    dict(arch="rnn", cell="gru", optimizer="rmsprop", lr=1.5e-3, batch_size=4, bptt=12),
    dict(arch="rnn", cell="lstm_peephole", optimizer="adam", lr=1e-2, batch_size=4, bptt=12),
])
def test_a_training_run_repeats_the_old_step_bit_for_bit(tmp_path, knobs):
    ds = toy_music()
    config = TrainConfig(dataset="jsb", hidden=6, clip=1.0, weight_noise=0.075, epochs=2, max_updates_per_epoch=6,
                         schedule="none", device="cpu", seed=3, **knobs)
    seen = []

    class Rows(Callback):
        def on_batch_end(self, trainer, info):
            seen.append((info["loss"], info["grad_norm"]))

    trainer = Trainer(config, run_dir=tmp_path / "run", progress=False, dataset=ds, callbacks=[Rows()])
    trainer.fit()
    rows, weights = old_training_step_rows(config, ds, 2)
    assert seen == rows
    trainer.model.load_state_dict(torch.load(tmp_path / "run" / "checkpoints" / "last.pt",
                                             weights_only=True)["model"])
    for name, param in trainer.model.named_parameters():
        assert torch.equal(param, weights[name]), name
