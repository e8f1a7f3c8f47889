"""rnnlab: build, train and look inside deep and gated recurrent networks.

Reproduces Pascanu et al. 2014 (deep RNNs), Chung et al. 2014 (gated units) and
Jozefowicz et al. 2015 (LSTM ablations, MUT1-3). See README.md.
"""

__version__ = "0.1.0"
