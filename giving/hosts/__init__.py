"""Host organisations: registered charities that hold campaign funds and approve spending."""
