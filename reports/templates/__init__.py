"""Templates of the reports (HTML summaries), shipped as package data."""
