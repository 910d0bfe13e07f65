"""The TMS learner and ladder presets build valid configs that differ only where they say."""

import dataclasses

from devrl.agents.tms_presets import TMS_LADDER, TMS_LEARNERS, TMS_SIGMA
from devrl.agents.tms_rl_config import TMSRLConfig


def test_every_preset_builds_a_config_with_its_fields():
    for name, kw in TMS_LEARNERS.items():
        cfg = TMSRLConfig(**kw)
        assert cfg.algo == name and cfg.sigma == TMS_SIGMA
    base = TMSRLConfig(**TMS_LEARNERS["reinforce"])
    for kw in TMS_LADDER.values():
        rung = TMSRLConfig(**TMS_LEARNERS["reinforce"], **kw)
        changed = {
            f.name
            for f in dataclasses.fields(TMSRLConfig)
            if getattr(rung, f.name) != getattr(base, f.name)
        }
        assert changed and changed <= set(kw)  # some of its fields may equal the defaults
