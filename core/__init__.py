"""The shared core: money, paging, spreadsheets, logging, task helpers, bulk SQL.

It imports no app of the project and no project configuration; every app may
import it.
"""
