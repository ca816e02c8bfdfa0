"""tokenworks.report: how results are shown — number formats, tables as rows, and (coming)
HTML reports with charts. The CLI and the web app both render from here; nothing in this
package computes the model.
"""
