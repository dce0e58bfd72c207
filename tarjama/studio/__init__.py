"""The editors' studio: a local web application over the articles published in an outputs folder."""
