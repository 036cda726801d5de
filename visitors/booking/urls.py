"""Online booking's pages: the public ones under /o/<office>/, the desk's under /desk/<office>/."""

app_name = "booking"
urlpatterns: list = []
