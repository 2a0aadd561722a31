"""``python -m openfn_airflow.standalone``: the same as ``openfn-airflow standalone``."""

import sys

from openfn_airflow.standalone import main

sys.exit(main())
