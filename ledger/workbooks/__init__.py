"""The edge where Excel is read and written: the import workbooks and their templates,
the auditor statements, the batch's 发放表 and 批量代发 file. It calls the domain's
services; nothing in the domain imports it."""
