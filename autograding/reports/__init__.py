"""What people read, built from the gradebook: feedback pages, grades.csv, the plot, tables."""
