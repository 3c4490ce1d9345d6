"""Model picker: the task combo shows which models serve which task and filters the list."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.gui


def _models():
    from spikeview.gui.types import ModelChoice

    return [
        ModelChoice("snn-rain", Path("/m/snn-rain.pt"), "derain", "ann-rain", None, True),
        ModelChoice("ann-rain", Path("/m/ann-rain.pt"), "derain", "snn-rain", None, True),
        ModelChoice("snn-noise", Path("/m/snn-noise.pt"), "denoise", "ann-noise", None, True),
        ModelChoice("ann-noise", Path("/m/ann-noise.pt"), "denoise", "snn-noise", None, True),
        ModelChoice("mine", Path("/u/mine.pt"), "denoise", None, None, False),
    ]


def _items(combo):
    return [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]


def test_task_combo_lists_tasks_with_counts_and_filters_models(qtbot):
    from spikeview.gui.types import DeviceChoice
    from spikeview.gui.widgets.model_picker import ALL_TASKS, AUTO_TWIN, ModelPicker

    picker = ModelPicker()
    qtbot.addWidget(picker)
    picker.set_catalog(_models(), [DeviceChoice("cpu", True, "")], model="snn-rain")
    assert _items(picker.task_combo) == [
        ("All tasks (5)", ALL_TASKS), ("Deraining (2)", "derain"), ("Denoising (3)", "denoise")
    ]
    assert picker.task() == ALL_TASKS and picker.model_combo.count() == 5
    # with every task listed, each model says which one it serves
    assert picker.model_combo.itemText(picker.model_combo.findData("snn-noise")).endswith("· denoise")
    assert picker.selection()[0] == "snn-rain"

    emitted = []
    picker.selectionChanged.connect(lambda *args: emitted.append(args))
    picker.set_task("derain")  # the selected model serves this task: nothing to reload
    assert [d for _, d in _items(picker.model_combo)] == ["snn-rain", "ann-rain"]
    assert [d for _, d in _items(picker.twin_combo)][2:] == ["snn-rain", "ann-rain"]
    assert emitted == [] and picker.selection()[0] == "snn-rain"
    assert not picker.model_combo.itemText(0).endswith("derain")  # the task is implied by the filter

    picker.set_task("denoise")  # the old model is hidden: the first denoiser is chosen, twin back to auto
    assert [d for _, d in _items(picker.model_combo)] == ["snn-noise", "ann-noise", "mine"]
    assert picker.model_combo.itemText(2) == "mine  (imported)"
    assert emitted == [("snn-noise", AUTO_TWIN, "auto", -1)]  # one reload request, with the new model

    picker.set_task(ALL_TASKS)
    assert picker.model_combo.count() == 5 and picker.selection()[0] == "snn-noise" and len(emitted) == 1


def test_catalog_refresh_keeps_the_task_unless_the_requested_model_is_elsewhere(qtbot):
    from spikeview.gui.types import DeviceChoice
    from spikeview.gui.widgets.model_picker import ModelPicker

    picker = ModelPicker()
    qtbot.addWidget(picker)
    devices = [DeviceChoice("cpu", True, "")]
    picker.set_catalog(_models(), devices, model="snn-rain")
    picker.set_task("derain")
    picker.set_catalog(_models(), devices, model="ann-rain")  # e.g. after an import
    assert picker.task() == "derain" and picker.selection()[0] == "ann-rain"
    picker.set_catalog(_models(), devices, model="mine")
    assert picker.task() == "denoise" and picker.selection()[0] == "mine"
    picker.set_catalog(_models(), devices, model="snn-rain")
    assert picker.task() == "derain" and picker.selection()[0] == "snn-rain"
    picker.set_task("denoise")
    only_rain = [m for m in _models() if m.task == "derain"]
    picker.set_catalog(only_rain, devices)  # the chosen task is gone: all tasks
    assert picker.task() == "" and picker.task_combo.count() == 2 and picker.model_combo.count() == 2
    picker.set_catalog([], devices)
    assert picker.task_combo.count() == 1 and not picker.model_combo.isEnabled()


def test_a_specialist_says_which_rain_it_is_for(qtbot):
    from PySide6.QtCore import Qt

    from spikeview.gui.types import DeviceChoice, ModelChoice
    from spikeview.gui.widgets.model_picker import ModelPicker

    picker = ModelPicker()
    qtbot.addWidget(picker)
    heavy = ModelChoice("snn-heavy", Path("/m/snn-heavy.pt"), "derain", None, None, True, ("heavy",))
    picker.set_catalog([*_models(), heavy], [DeviceChoice("cpu", True, "")], model="snn-rain")
    tip = Qt.ItemDataRole.ToolTipRole
    assert picker.model_combo.itemData(picker.model_combo.findData("snn-heavy"), tip).endswith(
        "made for heavy rain only"
    )
    assert "only" not in picker.model_combo.itemData(picker.model_combo.findData("snn-rain"), tip)
