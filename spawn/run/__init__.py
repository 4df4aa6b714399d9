"""The run: the driver (:func:`~spawn.run.driver.simulate`, :func:`~spawn.run.driver.resume`), a run's
outputs (:mod:`spawn.run.outputs`), the run directory's lock and clean-up (:mod:`spawn.run.rundir`),
what a run, sweep or study directory holds (:mod:`spawn.run.layout`) and the checkpoint
(:mod:`spawn.run.checkpoint`)."""
