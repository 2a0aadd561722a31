"""POST a canary message to this project's own inbox, over HTTP, as any sender would."""

from openfn_airflow.canary.sending import send_canary_message
from openfn_airflow.runtime import fn

operations = [fn(send_canary_message)]
