"""Peak bytes of the tensors a computation creates, on any device (the tests and bench/ measure on the CPU).

torch reports peak memory for CUDA only, and tracemalloc does not see torch's allocations. This dispatch mode
sees every tensor each aten operation returns (the backward's too: on the CPU autograd runs in the calling
thread), adds its storage's bytes when first seen (views of an operation's inputs are not new memory) and
subtracts them when the storage is freed. Scratch memory
inside a kernel is not seen; the tensors that autograd keeps and the logits are, which is what the loss patches
change. Used only by tests/test_memory_patches.py and bench/bench_memory_patches.py: no step imports it.
"""
from __future__ import annotations

import weakref


def measure_peak_tensor_bytes(fn) -> tuple[int, object]:
    """(peak bytes of tensors alive at once while `fn()` ran, counting only those it created; fn's result)."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class PeakTensorBytes(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.live = self.peak = 0
            self.sizes: dict[int, int] = {}

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            import torch

            out = func(*args, **(kwargs or {}))
            # A view or in-place result shares an input's storage: not new memory (e.g. weight.t() in a Linear).
            inputs = {t.untyped_storage().data_ptr() for t in tree_flatten((args, kwargs))[0]
                      if isinstance(t, torch.Tensor) and t.device.type != "meta"}
            for tensor in tree_flatten(out)[0]:
                if isinstance(tensor, torch.Tensor) and tensor.device.type != "meta":
                    storage = tensor.untyped_storage()
                    if storage.data_ptr() not in inputs:
                        self._count(storage)
            return out

        def _count(self, storage) -> None:
            key, size = storage.data_ptr(), storage.nbytes()
            if size == 0 or key in self.sizes:   # a view of a storage already counted
                return
            self.sizes[key] = size
            self.live += size
            self.peak = max(self.peak, self.live)
            weakref.finalize(storage, self._free, key)

        def _free(self, key: int) -> None:
            self.live -= self.sizes.pop(key, 0)

    probe = PeakTensorBytes()
    with probe:
        result = fn()
    return probe.peak, result
