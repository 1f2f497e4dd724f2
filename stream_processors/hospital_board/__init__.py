"""The receiving hospital's board: one `IncomingAmbulance` per incident, listed under its
destination hospital from the pre-alert or handover until the unit is back in service."""
