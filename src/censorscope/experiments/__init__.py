"""Experiments: what a probe measures (Web Connectivity …).

``interface`` says what an experiment is to the probe (``Experiment``, ``Measurer``,
``ExperimentSettings``); ``registry`` lists the ones ``censorscope probe run --experiment``
can run; each experiment is a package (``web_connectivity/``) whose ``experiment.py``
describes it. Experiments import ``model``, ``net`` and ``trace``, never ``probe`` or
``control``.
"""
