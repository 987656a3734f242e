"""Verify your own network: capture a model, then analyse each layer exactly."""

from .analysis import LayerAnalysis, NetworkAnalysis, analyze_network
from .capture import capture
from .graph import INPUT, NODE_KINDS, NetworkGraph, Node, UnsupportedOperatorError

__all__ = ["INPUT", "NODE_KINDS", "LayerAnalysis", "NetworkAnalysis", "NetworkGraph", "Node",
           "UnsupportedOperatorError", "analyze_network", "capture"]
