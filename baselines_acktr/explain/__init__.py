"""One ACKTR update of a tiny actor-critic, printed stage by stage (a teaching tool).

``python -m baselines_acktr.explain [--seed 0] [--hidden 4]`` builds a policy on a
3-dimensional observation with 3 actions (one tanh layer of ``--hidden`` units, or
none with ``--hidden 0``), trains it for 11 updates on fixed made-up batches with
ACKTR's own options (``acktr/acktr.py: Model``), and then prints the 12th update
through the real code path, each stage with the paper's symbol next to the code's
name (Wu et al. 2017, arXiv:1708.05144):

1. the batch and the losses, the sampled Fisher loss included (sections 2.1, 3.1);
2. the Kronecker factors ``A`` and ``S`` of each layer, of this batch and as
   running averages (section 2.2);
3. their eigen-decompositions and the clip of eigenvalues ``≤ 1e-6``;
4. the damped inverse ``F̂⁻¹g`` per block in the eigenbasis (section 2.2);
5. the trust region, ``vFv`` and the step size ``η`` (section 3.2);
6. the momentum step and the parameters before and after;
7. a check of the K-FAC block against the exact Fisher block of one layer.

The step is run by ``Model.train_on_batch``.  The stages are recomputed here in
float64 from the optimizer's own variables and compared with what the step did.
``docs/worked_update.md`` holds the output of the default command.
``--figures DIR`` draws the figures of ``docs/natural_gradient.md`` instead
(:mod:`.figures`, :mod:`.toy`); ``docs/start_here.md`` is the reading path.
"""
from .walkthrough import explain, main

__all__ = ["explain", "main"]
