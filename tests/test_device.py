"""Device strings: malformed ones refused without torch, unavailable GPUs refused with it."""

import pytest
import torch

from devrl._device import check_device, torch_device


@pytest.mark.parametrize("good", ["cpu", "cuda", "cuda:0", "cuda:12"])
def test_well_formed_devices_pass(good):
    check_device("device", good)


@pytest.mark.parametrize("bad", ["cuda:abc", "gpu", "", "cuda:", "CPU", "cuda:-1", None, 0])
def test_malformed_devices_name_the_field_and_the_forms(bad):
    with pytest.raises(ValueError, match=r"device must be 'cpu', 'cuda' or 'cuda:N'"):
        check_device("device", bad)


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert torch_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=r"device 'cuda' needs a GPU.*use device 'cpu'"):
        torch_device("cuda")


def test_a_gpu_index_past_the_last_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert torch_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ValueError, match=r"'cuda:2': only 2 GPU\(s\) visible \(cuda:0..cuda:1\)"):
        torch_device("cuda:2")


def test_ppo_config_refuses_a_malformed_device():
    from devrl.agents.config import PPOConfig

    with pytest.raises(ValueError, match="cuda:abc"):
        PPOConfig(device="cuda:abc")
