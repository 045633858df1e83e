"""Running out of memory (GPU, RAM, Windows' paging file) reads as a plain message, and nothing else is caught."""
import pytest
import torch

from gemma_kit.core.console import UserError
from gemma_kit.training.device import WINDOWS_PAGING_FILE_TOO_SMALL, memory_errors_in_plain_words


def raised_inside(error: BaseException) -> BaseException:
    with pytest.raises(BaseException) as caught:
        with memory_errors_in_plain_words("loading gemma-3n-E4B-it", "use --preset quick"):
            raise error
    return caught.value


def test_gpu_out_of_memory():
    error = raised_inside(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert isinstance(error, UserError) and isinstance(error.__cause__, torch.cuda.OutOfMemoryError)
    assert error.message == "The GPU ran out of memory while loading gemma-3n-E4B-it."
    assert error.hint == ("Close programs that use the GPU (games, video, LM Studio or Ollama with a model loaded), "
                          "or use --preset quick; then run this step again.")


def test_ram_out_of_memory():
    error = raised_inside(MemoryError())
    assert isinstance(error, UserError)
    assert error.message == "The computer ran out of memory (RAM) while loading gemma-3n-E4B-it."


def test_ram_out_of_memory_as_torch_reports_it():
    error = raised_inside(RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: not enough "
                                       "memory: you tried to allocate 9395240960 bytes."))
    assert isinstance(error, UserError) and "ran out of memory (RAM)" in error.message


def test_windows_paging_file_too_small_as_safetensors_reports_it():
    error = raised_inside(OSError("The paging file is too small for this operation to complete. (os error 1455)"))
    assert isinstance(error, UserError) and "paging file" in error.message


def test_windows_paging_file_too_small():
    os_error = OSError(22, "The paging file is too small for this operation to complete")
    os_error.winerror = WINDOWS_PAGING_FILE_TOO_SMALL   # what Windows sets; OSError on Linux has no such field
    error = raised_inside(os_error)
    assert isinstance(error, UserError) and "paging file" in error.message and "Virtual memory" in error.hint


def test_other_errors_pass_through_unchanged():
    not_found = FileNotFoundError(2, "No such file")
    assert raised_inside(not_found) is not_found
    value_error = ValueError("something else")
    assert raised_inside(value_error) is value_error
    runtime_error = RuntimeError("Expected all tensors to be on the same device")
    assert raised_inside(runtime_error) is runtime_error
