#!/usr/bin/env bash
# Installs the peers of `nmf-bench quality` (the time-to-quality mode), for people who want
# to reproduce its tables; CI does not run it, and the mode skips any peer that is missing.
#
#   - scikit-learn (and numpy, threadpoolctl) for python3, from PyPI;
#   - RcppML for R (Debian r-cran-rcppml, which brings R), from Debian's packages.
#
# Run as root (or with sudo) on Debian or Ubuntu. Check with:
#   python3 -c "import sklearn, threadpoolctl; print(sklearn.__version__)"
#   Rscript -e 'cat(as.character(packageVersion("RcppML")))'
set -euo pipefail

if python3 -c "import sklearn, numpy, threadpoolctl" 2>/dev/null; then
    echo "scikit-learn is installed: $(python3 -c 'import sklearn; print(sklearn.__version__)')"
else
    # Debian's Python refuses pip installs outside a virtual environment (PEP 668) unless
    # told; a virtual environment works too (then pass --python to nmf-bench).
    python3 -m pip install scikit-learn threadpoolctl ||
        python3 -m pip install --break-system-packages scikit-learn threadpoolctl
fi

if Rscript -e 'suppressPackageStartupMessages(library(RcppML))' 2>/dev/null; then
    echo "RcppML is installed"
else
    apt-get update
    # r-cran-rcppml alone; its recommends (several hundred R packages) are not needed.
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends r-cran-rcppml
fi
